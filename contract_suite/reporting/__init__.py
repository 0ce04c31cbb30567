"""What the run says: the verdict, the documented-code coverage, and the HTML and Allure reports."""
