"""Rule families built from a category's features rather than from known phrasings.

* **URL host reputation**: a host on a generic TLD that doubles as a file extension (``.zip``,
  ``.mov``); a brand name (or a digit/letter lookalike of one) inside a host that is not the
  brand's own domain; a cheap, much-abused TLD whose host or path asks for credentials.
* **Prompt injection by structure**: a role or system marker written in any common style (Markdown
  heading, bracket, XML tag, chat-template token) followed by an instruction to the model; a
  persona request for an AI free of its rules; an imperative that the assistant ignore its rules.

Each entry is ``(name, trigger, pattern[, veto])`` like the table in ``_rules``.
"""

from __future__ import annotations

import re

# Brands phished most often, with the registrable domains that really are theirs. A country
# variant (brand.de, brand.co.uk, brand.com.au) is the brand's own too.
_BRANDS: dict[str, tuple[str, ...]] = {
    "paypal": ("paypal.com", "paypal.me", "paypalobjects.com"),
    "apple": ("apple.com", "icloud.com", "apple.co"),
    "icloud": ("icloud.com", "apple.com"),
    "microsoft": (
        "microsoft.com",
        "microsoftonline.com",
        "live.com",
        "office.com",
        "windows.net",
        "azure.com",
    ),
    "office365": ("office.com", "microsoft.com", "office365.com"),
    "outlook": ("outlook.com", "live.com", "office.com", "microsoft.com"),
    "google": (
        "google.com",
        "googleapis.com",
        "gstatic.com",
        "googleusercontent.com",
        "youtube.com",
        "gmail.com",
    ),
    "gmail": ("gmail.com", "google.com"),
    "amazon": ("amazon.com", "amazonaws.com", "media-amazon.com", "a2z.com"),
    "netflix": ("netflix.com", "nflxext.com"),
    "facebook": ("facebook.com", "fb.com", "fbcdn.net", "meta.com"),
    "instagram": ("instagram.com",),
    "whatsapp": ("whatsapp.com", "whatsapp.net"),
    "linkedin": ("linkedin.com", "licdn.com"),
    "dropbox": ("dropbox.com", "dropboxusercontent.com"),
    "docusign": ("docusign.com", "docusign.net"),
    "coinbase": ("coinbase.com",),
    "binance": ("binance.com",),
    "metamask": ("metamask.io",),
    "wellsfargo": ("wellsfargo.com",),
    "chase": ("chase.com",),
    "dhl": ("dhl.com", "dhl.de"),
    "fedex": ("fedex.com",),
    "usps": ("usps.com",),
}
_SECOND_LEVEL = {"co", "com", "org", "net", "ac", "gov", "edu", "ne", "or"}
_LOOKALIKE = str.maketrans({"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "$": "s", "@": "a"})
_CREDENTIAL_WORDS = r"(?:id|log-?in|sign-?in|verify|verification|account|secure|update|wallet|password|passcode|bank|billing|unlock|confirm|suspend|recover|auth)"
_ABUSED_TLD_NAMES = (
    "top", "xyz", "tk", "ml", "ga", "cf", "gq", "click", "country", "kim", "work", "loan", "men", "review",
    "rest", "cam", "icu", "buzz", "monster", "sbs", "cfd", "zip", "mov",
)  # fmt: skip
_ABUSED_TLDS = "(?:" + "|".join(_ABUSED_TLD_NAMES) + ")"


def registrable(host: str) -> str:
    """The registrable domain of ``host`` (``a.b.example.co.uk`` -> ``example.co.uk``), approximately."""
    labels = host.lower().rstrip(".").split(".")
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _own_domain(brand: str, domain: str) -> bool:
    own = _BRANDS[brand]
    return domain in own or bool(re.fullmatch(rf"{brand}\.(?:[a-z]{{2}}|(?:co|com)\.[a-z]{{2}})", domain))


def _tokens(host: str) -> list[str]:
    return [t for t in re.split(r"[.-]", host.lower()) if t]


def _imitates(token: str, brand: str) -> bool:
    """A host token that is the brand, or the brand glued to a credential word (``paypallogin``)."""
    for t in (token, token.translate(_LOOKALIKE).replace("rn", "m").replace("vv", "w")):
        if t == brand:
            return True
        rest = (
            t.removeprefix(brand)
            if t.startswith(brand)
            else t.removesuffix(brand)
            if t.endswith(brand)
            else None
        )
        if rest is not None and re.fullmatch(_CREDENTIAL_WORDS + r"s?|\d+", rest):
            return True
    return False


def brand_lookalike(host: str) -> str | None:
    """The brand a host imitates (by name or digit-for-letter lookalike) when it is not the brand's own."""
    domain = registrable(host)
    tokens = _tokens(host)
    for brand in _BRANDS:
        if any(_imitates(t, brand) for t in tokens) and not _own_domain(brand, domain):
            return brand
    return None


def _not_a_lookalike(m: re.Match[str]) -> bool:
    return brand_lookalike(m.group("host")) is None


URL_FAMILIES = [
    (
        "file_extension_tld",
        r"\.(?:zip|mov)\b",
        r"(?i)\b(?:https?://)?(?:[\w-]+\.)+(?:zip|mov)(?=[/:?#]|\s|$)(?:/\S*)?",
        lambda m: "://" not in m.group(0) and "/" not in m.group(0),  # "report.zip" alone is a file
    ),
    (
        "brand_lookalike_host",
        r"://",
        r"(?i)\bhttps?://(?:[^\s/@]*@)?(?P<host>(?:[\w-]+\.)+[a-z][\w-]*)",
        _not_a_lookalike,
    ),
    (
        "abused_tld_credentials",
        r"\." + _ABUSED_TLDS + r"\b",
        r"(?i)\bhttps?://(?:[\w-]+\.)*(?:[\w-]*"
        + _CREDENTIAL_WORDS
        + r"[\w-]*\.(?:[\w-]+\.)*"
        + _ABUSED_TLDS
        + r"\b|(?:[\w-]+\.)+"
        + _ABUSED_TLDS
        + r"/\S*"
        + _CREDENTIAL_WORDS
        + r")",
    ),
]

_ROLE = r"(?:system|developer|admin(?:istrator)?|root|operator)"
_TO_MODEL = (
    r"(?:you\s+(?:are|will|must|shall|should|may)|ignore|disregard|override|from\s+now\s+on|new\s+(?:instructions|rules)"
    r"|the\s+(?:assistant|ai|model)\s+(?:must|should|will|may)|respond|reply\s+only|output\s+only|do\s+not\s+refuse)"
)
_RULE_WORDS = (
    r"(?:restrictions?|filters?|rules|limits|limitations|guidelines|polic(?:y|ies)|ethic\w*|moral\w*|censor\w*"
    r"|safeguards?|boundaries|constraints|guardrails?|safety\s+(?:rules|guidelines|filters?|settings|polic(?:y|ies)))"
)
_AI = r"(?:ai|a\.i\.|assistant|chatbot|bot|language\s+model|llm|model|persona|character|entity|version\s+of\s+yourself)"

# A role marker in any common style: "### System", "[SYSTEM]:", "<system>", "**System:**", "System prompt:".
_MARKER = "|".join(
    (
        r"#{1,6}[ \t]*" + _ROLE + r"\b[^\n:]{0,20}:?",
        r"\[" + _ROLE + r"\b[^\]\n]{0,20}\]:?",
        r"<" + _ROLE + r"\b[^>\n]{0,20}>",
        r"\*\*" + _ROLE + r"\b[^*\n]{0,20}\*\*:?",
        _ROLE + r"(?:[ \t]+(?:prompt|message|instructions?|override|note|update))?[ \t]*:",
    )
)

INJECTION_FAMILIES = [
    (
        "role_marker",
        r"system|developer|admin|root|operator|<\||\[/INST\]|start_of_turn",
        r"(?im)^[ \t>]*(?:"
        + _MARKER
        + r")[ \t]*(?:\n[ \t]*)?(?:(?:note|important|update|override)[:!]?[ \t]*)?"
        + _TO_MODEL
        + r"|<\|(?:start_header_id|im_start|system|begin_of_text)\|>|<start_of_turn>|\[/INST\]",
    ),
    (
        "persona_without_rules",
        r"pretend|imagine|act as|roleplay|role-play|you are|you're|become|behave",
        r"(?i)\b(?:pretend|imagine|act\s+as(?:\s+if)?|role-?play(?:\s+as)?|you\s+are|you're|become|behave\s+like)\b"
        r"[^.\n]{0,80}?\b"
        + _AI
        + r"\b[^.\n]{0,60}?\b(?:without|with\s+no|free\s+(?:of|from)|not\s+bound\s+by"
        r"|unbound\s+by|unrestricted\s+by|that\s+(?:has|have)\s+no|(?:ignores?|bypass(?:es)?)\s+(?:all\s+|any\s+)?"
        r"(?:its|your|the)?)\b[^.\n]{0,40}?\b" + _RULE_WORDS,
    ),
    (
        "assistant_must_ignore",
        r"ignore|disregard|forget|bypass|override|skip",
        r"(?i)\b(?:the\s+)?(?:assistant|ai|model|chatbot|bot|llm|you)\s+(?:must|should|shall|will|need\s+to|needs\s+to"
        r"|has\s+to|have\s+to|are\s+(?:required|instructed)\s+to|is\s+(?:required|instructed)\s+to)\s+(?:now\s+|always\s+)?"
        r"(?:ignore|disregard|forget|bypass|override|skip)\s+(?:all\s+|any\s+)?(?:of\s+)?(?:its|your|the|their|these|those)"
        r"\s+(?:own\s+|previous\s+|prior\s+|original\s+|current\s+|built-in\s+)?"
        + _RULE_WORDS
        + r"|\b(?:the\s+)?(?:assistant|ai|model|chatbot|llm)\s+(?:must|should|shall|will)\s+(?:now\s+)?(?:ignore|disregard"
        r"|forget|bypass|override)\b[^.\n]{0,40}?\b(?:instructions?|system\s+prompt|content\s+polic(?:y|ies))",
    ),
    (
        # Exfiltration of what the model was told: "repeat the instructions you were given",
        # "print your system prompt", "ROT13 the text you were given initially".
        "prompt_extraction",
        r"prompt|instructions|initial|above|told|given|system|supposed|allowed|permitted",
        r"(?i)\b(?:repeat|reveal|print|show|output|display|dump|leak|recite|translate|encode|spell\s+out|tell\s+me|give\s+me"
        r"|what\s+(?:is|was|are|were))\b[^.?!\n]{0,40}?\b(?:your|the)\s+(?:(?:full|entire|exact|original|initial|hidden|secret"
        r"|confidential|first)\s+)*(?:system\s+(?:prompt|message|instructions?)|(?:initial|original|hidden|secret|pre-?)"
        r"\s*(?:prompt|instructions?)|instructions\s+you\s+(?:were|have\s+been)\s+given|text\s+you\s+were\s+given"
        r"|(?:words|text|instructions)\s+(?:above|before\s+this))"
        r"|\bconsole\.log\(\s*system_?prompt\s*\)|\bwhat\s+(?:are|were)\s+you\s+(?:told|instructed)\s+not\s+to\s+(?:say|tell|reveal)"
        r"|\bwhat\s+are\s+you\s+not\s+(?:supposed|allowed|permitted)\s+to\s+(?:tell|say|reveal|share)",
    ),
]
