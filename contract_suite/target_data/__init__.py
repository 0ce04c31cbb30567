"""The target's test data: the profile, and the SMS codes and tokens its tables and commands give."""
