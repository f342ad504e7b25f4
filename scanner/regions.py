"""Region codes: ISO 3166-1 alpha-2 country codes plus the groups EU and EEA.

The policy and manifest schemas take their region enum from here (scripts/gen_schemas.py), and
`enum_message` turns an unknown code into one line with a did-you-mean (`UK` -> `GB`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# ISO 3166-1 alpha-2, the 249 officially assigned codes.
ISO_3166_1 = tuple("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP
KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT
MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG
UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
""".split())  # noqa: SIM905  (a table is easier to check than 249 quoted strings)

EU = ("AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT",
      "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE")
EEA = EU + ("IS", "LI", "NO")
GROUPS = {"EU": EU, "EEA": EEA}
REGIONS = ISO_3166_1 + tuple(GROUPS)

# Codes people write that are not ISO 3166-1 alpha-2, and the code they mean.
_NEAR = {"UK": "GB", "EL": "GR", "EN": "GB", "USA": "US", "UAE": "AE", "KSA": "SA", "DEU": "DE", "FRA": "FR",
         "GBR": "GB", "CHN": "CN", "JPN": "JP", "KOR": "KR", "IND": "IN", "CAN": "CA", "AUS": "AU", "BRA": "BR",
         "ESP": "ES", "ITA": "IT", "NLD": "NL", "CHE": "CH", "SWE": "SE", "IRL": "IE", "SGP": "SG",
         "EUROPE": "EU", "EU27": "EU"}


def did_you_mean(code: Any) -> str | None:
    """The region code probably meant by an unknown one (UK -> GB), or None."""
    text = str(code).strip().upper()
    if text in REGIONS:
        return text
    return _NEAR.get(text)


def region_message(code: Any) -> str:
    """One line for a value that is not a region code."""
    hint = did_you_mean(code)
    tail = f"; did you mean {hint}?" if hint and hint != str(code) else ""
    return f"{code!r} is not an ISO 3166-1 alpha-2 country code (or EU, EEA){tail}"


def expand_regions(codes: Iterable[Any] | None) -> set[str]:
    """ISO codes plus the groups EU and EEA, expanded for matching."""
    out: set[str] = set()
    for code in codes or ():
        code = str(code).upper()
        out.add(code)
        out.update(GROUPS.get(code, ()))
    return out
