"""The staff password policy: long enough, not a common password, not built from the username.

The common list is short on purpose (the passwords people in a Chinese hospital really choose first:
digit runs, keyboard walks, pinyin and love numbers, the product's own demo passwords); argon2 and the
login throttle take care of the rest.
"""

from __future__ import annotations

from typing import Final

MIN_LENGTH: Final = 8
MAX_LENGTH: Final = 128

# A block of words reads better than a hundred quoted strings.
_WORDS: Final = (  # noqa: SIM905
    "123456 1234567 12345678 123456789 1234567890 0123456789 987654321 87654321 11111111 00000000 88888888 "
    "66666666 12341234 11223344 12121212 123123123 147258369 159357 1qaz2wsx 1q2w3e4r 1q2w3e4r5t qwertyui "
    "qwerty123 qwe123456 asdfghjk asd123456 zxcvbnm zxcvbnm123 password password1 password123 passw0rd "
    "p@ssw0rd p@ssword admin123 admin1234 admin12345 admin123456 administrator root1234 root123456 "
    "abc12345 abc123456 abcd1234 a1234567 a12345678 a123456789 aa123456 woaini1314 woaini520 5201314 "
    "520131400 13145200 iloveyou iloveyou1 letmein1 welcome1 welcome123 changeme changeme123 test1234 "
    "test123456 guest123 hospital hospital123 yiyuan123 fangshe123 radiology radiology1 pacs1234 "
    "pacs123456 his123456 ris123456 radops123 radops123456 china123 zhongguo beijing123 shanghai123 "
    "qq123456 wang123456 zhang123456 li123456 liu123456 chen123456 doctor123 nurse123 "
    "admin123456 clerk123456 nurse123456 tech123456 doctor123456 senior123456 typist123456 head123456 "
    "sono123456"
).split()
COMMON: Final[frozenset[str]] = frozenset(_WORDS)


def password_problem(password: str, *, username: str = "") -> str | None:
    """Why `password` may not be used (a Chinese sentence), or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"密码至少 {MIN_LENGTH} 位"
    if len(password) > MAX_LENGTH:
        return f"密码不超过 {MAX_LENGTH} 位"
    lowered = password.lower()
    if lowered in COMMON or len(set(lowered)) <= 2:
        return "密码过于常见，请换一个不易猜到的密码"
    name = username.strip().lower()
    if name and (lowered == name or (len(name) >= 3 and name in lowered) or lowered == name[::-1]):
        return "密码不能与用户名相同或包含用户名"
    return None
