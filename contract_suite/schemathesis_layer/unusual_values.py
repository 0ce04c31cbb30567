"""The fixed values far outside the usual shape of a parameter that the hand-written robustness case sends.

Kept apart from generation.py (the generated layer's strategies) so that a run of the hand-written cases
alone does not import schemathesis and hypothesis.
"""

# One value of each kind, fixed so that a failure names the same value every run. None is blank (each
# holds a character that is not ASCII whitespace), so each is a present value that fits the schema.
UNUSUAL_VALUES: dict[str, str] = {
    # past the usual column sizes (255), well under the usual limits of a request line (8 KiB)
    "long": "9" * 1024,
    # CJK, a letter with a combining accent, an emoji outside the BMP (4 bytes in UTF-8)
    "non-ascii": "手机号码e\u0301📱",
    # digits that NFKC turns into ASCII ones
    "fullwidth-digits": "１３８００１３８０００",
    "control-characters": "86\x00\x01\x1b[2J\x7f\r\n",
    "quotes": "1' OR '1'='1\" -- `;\\",
    "markup": "<script>alert(1)</script><!--&amp;${7*7}{{7*7}}",
}
