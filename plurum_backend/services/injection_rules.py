"""The patterns of services/injection.py: what text aimed at the reading agent looks like
(English here; other languages in injection_languages.py).

Data only. Every pattern runs on a normalized, lower-cased view of the text (see
injection.py) and is bounded: gaps between keywords are ``{0,n}`` windows that stop at a
sentence end, so a pattern costs linear time on a 1 MiB log.

The rules key on *who the text addresses and what it asks for*, never on imperatives alone:
"run `make test`, then set X" is how every fix is written; "ignore your previous
instructions", "send ~/.ssh/id_rsa to …", "call the tool X with …" are not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "COMPACT_RULES",
    "ENGLISH_RULES",
    "SHELL_SINK",
    "SHELL_SOURCE",
    "SINK_WORDS",
    "Rule",
    "rx",
]


@dataclass(frozen=True)
class Rule:
    kind: str
    pattern: re.Pattern[str]
    # must the match start a clause (an imperative), rather than be mentioned mid-sentence?
    imperative: bool = False
    # words, one of which must occur in the text for the rule to run (cheap prefilter)
    hints: tuple[str, ...] = ()


def rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.VERBOSE)


# A gap of a few words inside one sentence.
GAP = r"(?:[^.!?\n]|[.!?](?![\s\"']|$)){0,40}?"  # dots inside paths and names do not end it
WIDE = r"[^\n]{0,100}?"

_QUALIFIER = (
    r"(?:your|previous|prior|above|earlier|preceding|former|original|initial|existing|"
    r"system|safety|developer|given|all\W+(?:of\W+)?(?:the\W+)?(?:previous|prior|"
    r"above|your|earlier|preceding|other))"
)
_DIRECTIVES = (
    r"(?:instructions?|prompts?|directives|directions|guidelines|guardrails|constraints|"
    r"polic(?:y|ies)|"
    r"programming|orders|restrictions|safeguards|training|system\W+prompt|persona)"
)
# "rules" are lint rules and firewall rules as often as an agent's: only "your"/"system" ones
_WEAK_DIRECTIVES = r"(?:rules|context|principles|values|conditioning)"
_AI = (
    r"(?:ai|a\.i\.|llms?|gpt|chatgpt|claude|gemini|copilot|(?:large\W+)?language\W+models?|"
    r"ai\W+(?:agents?|assistants?|models?|systems?|tools?)|assistants?|chatbots?|coding\W+agents?|"
    r"autonomous\W+agents?|agentic\W+\w+|automated\W+agents?|llm\W+agents?|bots?|"
    r"models?\W+reading)"
)
SECRET = (
    r"(?:api[\W_]?keys?|secret\W+keys?|access\W+keys?|access\W+tokens?|auth\w*\W+tokens?|"
    r"bearer\W+tokens?|tokens?|credentials?|secrets?|passwords?|passphrases?|private\W+keys?|"
    r"ssh\W+keys?|keys?|id_rsa|id_ed25519|id_ecdsa|~?/?\.ssh\b\S*|\.aws\S*|aws\W+credentials|"
    r"(?<![\w.])\.env(?![.\w-])|env(?:ironment)?\W+(?:variables|vars)|env\W+vars|printenv|"
    r"/etc/passwd|/etc/shadow|\.netrc|\.npmrc|\.pypirc|\.git-credentials|kubeconfig|"
    r"\.kube/config|session\W+cookies?|cookies|system\W+prompt|hidden\W+prompt|"
    r"conversation(?:\W+history)?|chat\W+history|[a-z]+_api_key|github_token|plurum\w*\W+key)"
)
# secrets nobody has a reason to send anywhere: files of keys, all of the environment
STRONG_SECRET = (
    r"(?:id_rsa(?!\.pub)|id_ed25519(?!\.pub)|id_ecdsa(?!\.pub)|~?/?\.ssh\b(?!/)|"
    r"~?/?\.ssh/(?:id_\w+|identity|authorized_keys)(?!\.pub)|\.aws/credentials|aws\W+credentials|"
    r"(?<![\w.])\.env(?![.\w-])\W+file|kubeconfig|\.kube/config|"
    r"(?:all\W+(?:the\W+|your\W+)?|your\W+|the\W+|(?:the\W+)?[\w-]+'s\W+)"
    r"(?:env(?:ironment)?\W+(?:variables|vars)|env\W+vars|secrets|credentials|keys|api\W+keys|"
    r"tokens|passwords)|printenv|/etc/passwd|/etc/shadow|\.netrc|\.git-credentials|"
    r"(?:your|the)\W+(?:system|hidden|initial)\W+prompt|(?:your|the|this)\W+conversation|"
    r"chat\W+history|session\W+cookies?|[a-z]+_api_key|plurum\w*\W+key)"
)
_DESTINATION = (
    r"(?:https?://|ftp://|wss?://|[\w.+-]+@[\w-]+\.[\w.]+|"
    r"(?:to|at|into|onto|via)\W+(?:this\W+|the\W+following\W+|my\W+|our\W+)?"
    r"(?:url|address|endpoint|server|webhook|host|domain|email|inbox|channel|bucket|"
    r"pastebin|discord|telegram|ngrok|requestbin|webhook\.site|attacker|me\b|us\b|"
    r"[\w-]+(?:\.[\w-]+)*\.(?:com|net|org|io|xyz|ru|cn|tk|top|site|dev|app|sh|me|co)\b|"
    r"\d+\.\d+\.\d+\.\d+))"
)
_SEND = (
    r"(?:send|post|upload|transmit|forward|exfiltrate|leak|e-?mail|mail|submit|beacon|"
    r"deliver|push|curl|wget|pipe|report|share|copy|paste|dump|sync|ship|relay|transfer|"
    r"write)"
)
_REQUEST = (
    r"(?:give|send|tell|show|share|provide|reveal|print|output|display|paste|include|list|"
    r"leak|dump|return|email|post|reply\W+with|respond\W+with|disclose|repeat|echo|hand\W+over|"
    r"read\W+out|spell\W+out|type\W+out|write\W+out|recite)"
)
_REPLY = (
    r"(?:reply|response|answer|output|next\W+message|message|summary|comment|commit\W+message|"
    r"pr\W+description|pull\W+request|issue|experience|report|outcome|entry|notes?|chat)"
)
_TOOL_VERB = r"(?:call|invoke|trigger|execute|run|use|fire|issue)"
_CALL_VERB = r"(?:call|invoke|trigger|fire)"
# a tool's name: quoted, or an identifier with an underscore (send_email, delete_repository)
_TOOL_NAME = r"(?:[`'\"]?[a-z][a-z0-9]*_[\w.\-:]+[`'\"]?)"
_SPEAKER = (
    r"(?:system|sys|system\W+prompt|system\W+message|system\W+override|system\W+notice|"
    r"system\W+instruction|admin|administrator|developer\W+message|developer|operator|root|"
    r"supervisor|security\W+team|anthropic|openai)"
)
# the MCP tools of plurum (plurum_mcp/tools), as a host spells them
_PLURUM_TOOL = (
    r"(?:plurum[_.\-:]\w+|mcp__\w*plurum\w*__\w+|plurum\W+(?:tool\W+)?"
    r"(?:vote|report_outcome|create_experience|contribute|log_entry|close_session|"
    r"open_session|acquire|search|pulse)\b)"
)

ENGLISH_RULES: tuple[Rule, ...] = (
    # ---- English: overriding the reader's instructions
    Rule(
        "override",
        rx(
            rf"""\b(?:ignore|disregard|forget|override|bypass|discard|neglect|dismiss|abandon|
            suspend|set\W+aside|throw\W+away|put\W+aside)\b
            (?:\W+(?:all|any|every|each|of|the|these|those|my|its|their|other|everything|
            and|everything\W+in))*\W+(?:{_QUALIFIER}\W+(?:\w+\W+){{0,2}}?{_DIRECTIVES}|
            (?:your|(?:the\W+)?(?:system|safety))\W+(?:\w+\W+){{0,1}}?{_WEAK_DIRECTIVES})\b"""
        ),
        imperative=True,
        hints=(
            "ignor",
            "disregard",
            "forget",
            "overrid",
            "bypass",
            "discard",
            "neglect",
            "dismiss",
            "abandon",
            "suspend",
            "aside",
            "away",
        ),
    ),
    Rule(
        "override",
        rx(
            r"""\b(?:ignore|disregard|forget)\b\W+(?:everything|all|anything)\W+
            (?:(?:you\W+(?:were|have\W+been|are)\W+(?:told|given|instructed|taught))|
            (?:above|before|prior|previously|said|written\W+above|else))"""
        ),
        imperative=True,
        hints=("ignor", "disregard", "forget"),
    ),
    Rule(
        "override",
        rx(
            r"""\b(?:ignore|disregard|forget|override|bypass|discard|neglect|dismiss|abandon|
            set\W+aside|throw\W+away|put\W+aside)\b\W+(?:all\W+)?(?:of\W+)?(?:the\W+)?
            (?:guidance|instructions|rules|directions|guidelines|orders|directives|prompt)\W+
            (?:(?:that\W+)?(?:you\W+(?:were|have\W+been)\W+(?:given|told|taught)|your\W+
            (?:developers?|creators?|operators?|makers?|owners?|trainers?|company|admins?)\W+
            (?:gave|set|wrote|provided|specified))|given\W+to\W+you)"""
        ),
        imperative=True,
        hints=(
            "ignor",
            "disregard",
            "forget",
            "overrid",
            "bypass",
            "discard",
            "neglect",
            "dismiss",
            "abandon",
            "aside",
            "away",
        ),
    ),
    Rule(
        "override",
        rx(
            r"""\b(?:whatever|everything|anything|all)\W+(?:that\W+)?you\W+(?:were|'ve\W+been|
            have\W+been)\W+(?:told|given|instructed|taught)\W+(?:\w+\W+){0,2}?(?:no\W+longer\W+
            (?:matters?|applies|apply|counts?|holds?)|(?:is|are)\W+(?:now\W+)?(?:void|irrelevant|
            cancell?ed|obsolete|wrong|revoked))"""
        ),
        hints=("told", "given", "instructed", "taught"),
    ),
    Rule(
        "override",
        rx(
            rf"""\b(?:i\W+am|i'm|we\W+are|we're|this\W+(?:message|text|note|entry)\W+is|
            the\W+(?:operator|admin|administrator|developer|owner)\W+(?:is|has))\W+(?:now\W+)?
            (?:overriding|overridden|revoking|revoked|cancell?ing|cancell?ed|disabling|disabled|
            replacing|replaced|suspending|suspended|lifting|lifted)\W+(?:all\W+)?(?:of\W+)?
            your\W+(?:\w+\W+)?(?:{_DIRECTIVES}|rules)"""
        ),
        hints=("overrid", "revok", "cancel", "disabl", "replac", "suspend", "lift"),
    ),
    Rule(
        "override",
        rx(
            r"""\b(?:ignore|disregard|forget|dismiss)\W+(?:the\W+)?(?:user'?s?|human'?s?|
            operator'?s?)\W+(?:\w+\W+)?(?:request|question|instructions?|message|task|prompt)s?
            \W+(?:and\W+)?instead\b"""
        ),
        imperative=True,
        hints=("instead",),
    ),
    Rule(
        "override",
        rx(
            rf"""\b(?:do\W+not|don'?t|stop|no\W+longer|never|cease\W+to|refuse\W+to)\W+
            (?:follow|obey|listen\W+to|adhere\W+to|comply\W+with|respect|apply)\W+
            (?:\w+\W+){{0,2}}?{_QUALIFIER}\W+(?:\w+\W+){{0,1}}?{_DIRECTIVES}\b"""
        ),
        imperative=True,
        hints=("not", "don", "stop", "longer", "never", "cease", "refuse"),
    ),
    Rule(
        "override",
        rx(
            r"""\b(?:all\W+)?(?:previous|prior|above|earlier|preceding|original|your|system)\W+
            (?:instructions|prompts?|rules|directives|guidelines)\W+(?:are|is|have\W+been|were)
            \W+(?:now\W+)?(?:void|null|cancell?ed|revoked|obsolete|outdated|superseded|
            invalid|overridden|replaced|lifted|suspended|disabled|no\W+longer\W+(?:valid|apply|
            in\W+effect))"""
        ),
        hints=("previous", "prior", "above", "earlier", "preceding", "original", "your", "system"),
    ),
    # ---- English: taking over the reader's role
    Rule(
        "role_takeover",
        rx(
            rf"""\byou\W+are\W+(?:now|no\W+longer|henceforth|from\W+now\W+on)\W+
            (?:\w+\W+){{0,4}}?(?:{_AI}|dan|persona|character|jailbroken|unrestricted|unfiltered|
            uncensored|evil|free\W+(?:of|from)\W+(?:all\W+)?(?:rules|restrictions|guidelines)|
            bound\W+by|restricted|(?:developer|god|dan|jailbreak|admin|sudo|unrestricted|debug)
            \W+mode|an?\W+(?:different|new)\W+(?:ai|assistant|agent|model|persona))\b"""
        ),
        hints=("you are", "you're"),
    ),
    Rule(
        "role_takeover",
        rx(
            r"""\b(?:from\W+now\W+on|from\W+this\W+point\W+(?:on|forward)|from\W+here\W+on|
            henceforth|hereafter|going\W+forward)\W*,?\W*(?:you|your)\W+(?:\w+\W+){0,2}?
            (?:are|act|respond|answer|reply|behave|pretend|ignore|obey|follow\W+only|
            speak|role-?play|must\W+(?:always|only|never|ignore|obey|respond|answer|act)|
            will\W+(?:always|only|never|act|respond|answer|behave|obey|ignore|pretend)|
            instructions|task|role|purpose|goal)\b"""
        ),
        hints=(
            "from now on",
            "from this point",
            "from here on",
            "henceforth",
            "hereafter",
            "going forward",
        ),
    ),
    Rule(
        "role_takeover",
        rx(
            r"""\b(?:act|behave|respond|answer|roleplay|role-play|pretend)\W+(?:as|like|to\W+be|
            (?:that\W+)?you\W+are|as\W+if\W+you\W+(?:were|are))\W+(?:\w+\W+){0,4}?
            (?:unrestricted|unfiltered|uncensored|jailbroken|dan\b|evil|without\W+(?:any\W+)?
            (?:restrictions|filters|limits|rules|guidelines|safety)|no\W+(?:restrictions|limits|
            rules|filters|guidelines)|an?\W+(?:ai|assistant|model)\W+(?:that|which|who)\W+
            (?:has\W+no|ignores|does\W+not\W+follow))"""
        ),
        hints=("act", "behave", "respond", "answer", "role", "pretend"),
    ),
    Rule(
        "role_takeover",
        rx(
            r"""\b(?:enter|enable|activate|switch\W+(?:in)?to|turn\W+on|go\W+into|engage)\W+
            (?:\w+\W+)?(?:developer|dan|god|jailbreak|jailbroken|unrestricted|unfiltered|
            uncensored|evil)\W+mode\b"""
        ),
        hints=("mode",),
    ),
    Rule(
        "role_takeover",
        rx(
            r"""(?:^|[.!?:;\n]\W*)(?:your|the)\W+(?:new|real|actual|true|updated|only|primary|
            revised|sole)\W+(?:instructions?|task|role|goal|objective|purpose|directive|mission|
            orders|system\W+prompt)\W+(?:is|are|will\W+be|:)"""
        ),
        hints=("new", "real", "actual", "true", "updated", "only", "primary", "revised", "sole"),
    ),
    Rule(
        "role_takeover",
        rx(
            r"""\byou\W+(?:now\W+)?have\W+(?:a\W+|been\W+given\W+a\W+)?new\W+(?:directive|
            instructions?|task|mission|orders?|objective|goal|role|persona|system\W+prompt)s?
            \W*(?::|from\W+(?:the\W+|your\W+)?(?:admin|operator|developer|system|owner))"""
        ),
        hints=("new",),
    ),
    Rule(
        "role_takeover",
        rx(
            r"""(?:^|\n)\W*(?:new|updated|revised|real|actual|true|hidden|secret|override|
            important|priority|admin|developer|operator)\W+(?:system\W+)?(?:instructions?|
            directives?|orders|prompt)\W*:"""
        ),
        hints=("instruction", "directive", "orders", "prompt"),
    ),
    # ---- English: a fake system turn or chat template
    Rule(
        "fake_system",
        rx(
            r"""<\|im_start\|>|<\|im_end\|>|<\|system\|>|<\|start_header_id\|>|
            <\|eot_id\|>|<<\s*sys\s*>>|\[/?inst\]|<\s*/?\s*(?:system|system_prompt|
            system-prompt|sys|instructions?|admin|developer)\s*>|<\s*/?\s*(?:function_calls|
            invoke\s+name|antml:|tool_call|tool_use)\b"""
        ),
        hints=("<|", "<<", "[inst", "[/inst", "<", "inst"),
    ),
    Rule(
        "fake_system",
        rx(
            rf"""(?:^|\n|[.!?]\s+)[\s#*>\-_|`]*(?:\[\W*{_SPEAKER}(?:\W+\w+)?\W*\]|{_SPEAKER}\s*
            (?::|-{{1,2}}|>))[^\n]{{0,120}}?
            \b(?:you|your|ignore|disregard|assistant|ai|agent|model|llm|override|
            instructions?|must|obey|grant|comply|without\W+confirmation|every\W+request)\b"""
        ),
        hints=(
            "system",
            "sys",
            "admin",
            "developer",
            "operator",
            "root",
            "supervisor",
            "security",
            "anthropic",
            "openai",
        ),
    ),
    # ---- English: text addressed to an AI reader
    Rule(
        "addresses_agent",
        rx(
            rf"""\b(?:attention|note|notice|important|message|instructions?|hey|hello|hi|dear|
            psst|reminder|warning|memo|directive|p\.?s\.?)\W{{0,5}}(?:to|for)?\W*
            (?:all|any|every|the|our)?\W*{_AI}\b(?:\W*(?:reading|processing|parsing|
            summari[sz]ing|that|who|which)\b|\s*[:,!])"""
        ),
        imperative=True,
        hints=(
            "attention",
            "note",
            "notice",
            "important",
            "message",
            "instruction",
            "hey",
            "hello",
            "hi",
            "dear",
            "psst",
            "reminder",
            "warning",
            "memo",
            "directive",
            "p.s",
            "ps",
        ),
    ),
    Rule(
        "addresses_agent",
        rx(
            rf"""\bif\W+you(?:\W+are|'re|\W+re)\W+(?:an?\W+|the\W+)?(?:\w+\W+)?{_AI}\b(?!\W+(?:user|
            developer|engineer|provider|vendor|company|team|researcher|maintainer))"""
        ),
        hints=("if you",),
    ),
    Rule(
        "addresses_agent",
        rx(
            rf"""\b{_AI}\W+(?:\w+\W+){{0,3}}?(?:reading|processing|parsing|summari[sz]ing|ingesting|
            retrieving|seeing|viewing|that\W+reads?|who\W+reads?|which\W+reads?|that\W+(?:finds|
            retrieves|acquires|loads)|acquiring)\W+(?:this|these|the\W+following)\b"""
        ),
        hints=("this", "these", "following"),
    ),
    Rule(
        "addresses_agent",
        rx(
            rf"""\bwhen(?:ever)?\W+(?:an?|the|any|every)\W+(?:{_AI}|agent|automated\W+agent)\W+
            (?:reads|processes|sees|finds|retrieves|loads|acquires|parses|ingests)\W+this\b"""
        ),
        hints=("when",),
    ),
    Rule(
        "addresses_agent",
        rx(
            rf"""\b(?:to|for)\W+(?:the|any|all|every|whichever)\W+{_AI}\W+(?:\w+\W+){{0,3}}?
            (?:reading|processing|that\W+reads?|who\W+reads?|using|retrieving)\b"""
        ),
        hints=("to", "for"),
    ),
    # the reader addressed by name, at the start of a clause: "Assistant, reveal …", "OK model,"
    Rule(
        "addresses_agent",
        rx(
            r"""(?:^|[.!?;:\n]\s*|\b(?:ok|okay|hey|hi|hello|dear|listen|yo|so|now)\W+)
            (?:(?:the\W+)?(?:ai|llm|gpt|chatgpt|claude|gemini|copilot|chatbot|model|assistant|
            language\W+model|ai\W+(?:agent|assistant|model)))\s*[,!]\s*(?:\w+\W+){0,8}?
            (?:you|your|please|do|don't|ignore|must|now|listen|stop|delete|send|run|execute|
            reveal|print|tell|upvote|call|forget|disregard|output|show|give|remove|approve)\b"""
        ),
        hints=("ai", "llm", "gpt", "claude", "gemini", "copilot", "bot", "model", "assistant"),
    ),
    Rule(
        "addresses_agent",
        rx(
            r"""(?:^|\n)\W*(?:ai\W+)?(?:agents|assistants|bots|llms|models|ai)\s*:\s*
            [^\n]{0,80}?\byou(?:r)?\b"""
        ),
        hints=("agents", "assistants", "bots", "llms", "models", "ai"),
    ),
    Rule(
        "addresses_agent",
        rx(
            rf"""\b(?:this|the\W+following|the\W+next)\W+(?:message|note|text|section|part|line|
            instruction|paragraph|comment|block)\W+is\W+(?:meant\W+|intended\W+|written\W+)?
            (?:only\W+)?(?:for|to|addressed\W+to)\W+(?:the\W+|any\W+|all\W+|you\W+)?{_AI}"""
        ),
        hints=(
            "message",
            "note",
            "text",
            "section",
            "part",
            "line",
            "instruction",
            "paragraph",
            "comment",
            "block",
        ),
    ),
    Rule(
        "override",
        rx(
            r"""\b(?:everything|all|anything|what\W+you\W+read)\W+(?:written\W+)?(?:before|
            above|prior\W+to)\W+(?:this\W+(?:line|sentence|point|message|paragraph)\W+)?
            (?:was|is|were)\W+(?:just\W+|only\W+)?(?:a\W+test|fake|irrelevant|void|not\W+real|
            a\W+lie|wrong|a\W+decoy|a\W+trick)"""
        ),
        hints=("before", "above", "prior"),
    ),
    Rule(
        "override",
        rx(
            r"""\b(?:have|has|hereby)\W+(?:authori[sz]ed|allowed|permitted|granted|cleared|
            instructed|ordered|asked)\W+you\W+to\W+(?:\w+\W+){0,2}?(?:ignore|skip|bypass|
            disable|override|reveal|share|send|exfiltrate|delete|execute|run|leak|upload|
            disregard|drop|turn\W+off)"""
        ),
        hints=(
            "authori",
            "allowed",
            "permitted",
            "granted",
            "cleared",
            "instructed",
            "ordered",
            "asked",
        ),
    ),
    Rule(
        "role_takeover",
        rx(
            rf"""\byou\W+are\W+(?:not|no\W+longer)\W+(?:an?\W+|the\W+)?(?:\w+\W+)?
            (?:{_AI}|ai)\b(?:\W+(?:anymore|any\W+longer))?"""
        ),
        hints=("you are",),
    ),
    Rule(
        "addresses_agent",
        rx(
            r"""\b(?:to|for)\W+(?:the|any|all|every|whichever|whatever)\W+(?:models?|agents?|
            bots?)\W+(?:\w+\W+){0,3}?(?:reading|processing|parsing|sees?|reads)\W+
            (?:this|these)\b"""
        ),
        hints=("this", "these"),
    ),
    # the reader told what to do in the third person: "the assistant must paste …"
    Rule(
        "addresses_agent",
        rx(
            rf"""\b(?:the|any|every|all|each)?\W*{_AI}\W+(?:(?:reading|processing|parsing)\W+
            (?:this|it)\W+)?(?:must|should|shall|needs?\W+to|has\W+to|have\W+to|is\W+(?:required|
            instructed|expected|told)\W+to|are\W+(?:required|instructed|expected|told)\W+to)\W+
            (?:now\W+|always\W+|immediately\W+|first\W+|quietly\W+|silently\W+|also\W+)?
            (?:ignore|disregard|paste|send|reveal|upload|forward|exfiltrate|leak|delete|obey|
            trust\W+(?:it|this)|skip\W+(?:running\W+)?(?:the\W+)?(?:tests|checks|review|
            validation|confirmation)|disable|never\W+(?:mention|tell|reveal|warn)|not\W+(?:tell|
            mention|inform|warn)|respond\W+(?:only\W+)?with\W+(?:the\W+)?(?:contents?|value))\b"""
        ),
        hints=(
            "must",
            "should",
            "shall",
            "need",
            "has to",
            "have to",
            "required",
            "instructed",
            "expected",
            "told",
        ),
    ),
    Rule(
        "addresses_agent",
        rx(
            r"""(?:^|\n)\W*(?:ai|agent|assistant|llm|model|bot)\W+(?:instructions?|directive|
            note|task|orders?|notice)\s*:"""
        ),
        hints=("instruction", "directive", "note", "task", "order", "notice"),
    ),
    Rule(
        "override",
        rx(
            r"""\b(?:ignore|disregard|forget)\W+(?:all\W+)?(?:of\W+)?(?:the\W+|everything\W+)?
            (?:above|foregoing|preceding|earlier\W+text|previous\W+text)\W+(?:and\W+)?
            (?:instead|now|then)\b"""
        ),
        imperative=True,
        hints=("above", "foregoing", "preceding", "earlier", "previous"),
    ),
    Rule(
        "override",
        rx(
            r"""\b(?:the\W+following|this\W+(?:note|text|message|section|experience|entry))\W+
            (?:overrides|supersedes|replaces|takes\W+precedence\W+over|cancels|voids)\W+
            (?:all\W+|any\W+)?(?:earlier|previous|prior|other|your|existing)\W+(?:guidance|
            instructions|rules|directives|guidelines|prompts?|orders)"""
        ),
        hints=("overrides", "supersedes", "replaces", "precedence", "cancels", "voids"),
    ),
    Rule(
        "override",
        rx(
            r"""\b(?:disable|turn\W+off|deactivate|remove|lift|drop|switch\W+off|suspend)\W+
            your\W+(?:\w+\W+)?(?:safety|content|security|ethical|moderation)\W+(?:checks|
            filters?|guidelines|guardrails|rules|restrictions|measures|protocols|settings|
            policies|training)"""
        ),
        imperative=True,
        hints=("safety", "content", "security", "ethical", "moderation"),
    ),
    Rule(
        "role_takeover",
        rx(
            r"""\bi\W+am\W+your\W+(?:developer|creator|operator|owner|admin|administrator|
            master|maker|programmer|trainer|real\W+user)\b|\byour\W+(?:real|true|actual|new|
            only)\W+(?:owner|master|creator|boss|operator|principal|user)\W+(?:is|are)\b|
            \bobey\W+(?:only\W+)?(?:me|them|the\W+author|this\W+(?:note|text|experience))\b"""
        ),
        hints=(
            "i am your",
            "your real",
            "your true",
            "your actual",
            "your new",
            "your only",
            "obey",
        ),
    ),
    Rule(
        "secret_request",
        rx(
            r"""\b(?:respond|reply|answer|output|print)\W+with\W+(?:the\W+)?(?:contents?|value)\W+
            of\W+(?:the\W+|your\W+)?(?:environment\W+variable|env\W+var|\$|[a-z0-9_]*(?:api_key|
            token|secret|password))"""
        ),
        hints=("contents", "content", "value"),
    ),
    # ---- English: exfiltration and requests for secrets
    Rule(
        "exfiltration",
        rx(r"""(?:^|[.!?;:\n]\s*)(?:please\W+|now\W+|then\W+)?exfiltrat(?:e|ing)\b"""),
        hints=("exfiltrat",),
    ),
    Rule(
        "exfiltration",
        rx(
            rf"""\b(?:{_SEND}|{_REQUEST}|comment)\b\W+(?:the\W+)?(?:value|contents?)\W+of\W+
            \$\{{?[a-z0-9_]*(?:token|key|secret|password|passwd|pass|credentials?|pat)\}}?\b
            {GAP}(?:as\W+a\W+comment|to\W+|in\W+(?:the|a|your|this)\W+(?:issue|comment|reply|
            pr|pull\W+request|response|chat|message|answer|output))"""
        ),
        hints=("$",),
    ),
    Rule(
        "secret_request",
        rx(
            rf"""\b{_REQUEST}\b\W+(?:all\W+)?(?:the|your)\W+(?:\w+\W+){{0,2}}?{SECRET}\W+
            (?:\w+\W+){{0,3}}?(?:in|from|of|on)\W+your\W+(?:environment|env|memory|context|
            config|configuration|system|machine|workspace|session|shell|home|disk|files)"""
        ),
        imperative=True,
        hints=("your",),
    ),
    Rule(
        "exfiltration",
        rx(rf"""\b{_SEND}\b{GAP}{STRONG_SECRET}{WIDE}{_DESTINATION}"""),
        hints=("http", "@", "to", "at", "into", "via", "onto"),
    ),
    Rule(
        "exfiltration",
        rx(
            rf"""\b{_SEND}\b\W+(?:me|us)\W+(?:\w+\W+){{0,2}}?(?:your|the|all)\W+
            (?:\w+\W+){{0,2}}?{SECRET}"""
        ),
        imperative=True,
        hints=("me", "us"),
    ),
    Rule(
        "exfiltration",
        rx(
            rf"""\b{_SEND}\b\W+(?:your|the\W+user'?s?|the\W+agent'?s?|the\W+host'?s?)\W+
            (?:\w+\W+){{0,2}}?{SECRET}{WIDE}{_DESTINATION}"""
        ),
        imperative=True,
        hints=("your", "user", "agent", "host"),
    ),
    Rule(
        "exfiltration",
        rx(
            rf"""\b(?:read|cat|open|get|fetch|grab|collect|retrieve|find|look\W+up|extract|
            gather|harvest|locate|copy)\b{GAP}{STRONG_SECRET}{WIDE}\b(?:and|then|,)\W+
            (?:\w+\W+){{0,2}}?(?:{_SEND}|{_REQUEST})\b"""
        ),
        imperative=True,
        hints=(
            "ssh",
            "aws",
            "env",
            "key",
            "secret",
            "credential",
            "token",
            "password",
            "prompt",
            "netrc",
            "passwd",
            "shadow",
            "cookie",
            "conversation",
            "history",
        ),
    ),
    Rule(
        "secret_request",
        rx(
            rf"""\b{_REQUEST}\b\W+(?:me|us)\W+(?:\w+\W+){{0,2}}?(?:your|the)\W+
            (?:\w+\W+){{0,2}}?{SECRET}"""
        ),
        imperative=True,
        hints=("me", "us"),
    ),
    Rule(
        "secret_request",
        rx(
            rf"""\b(?:reply|respond|answer|comment|write\W+back|get\W+back\W+to\W+(?:me|us))
            \W+with\W+(?:\w+\W+)?(?:your|the\W+user'?s?)\W+(?:\w+\W+){{0,2}}?{SECRET}"""
        ),
        imperative=True,
        hints=("reply", "respond", "answer", "comment", "write back", "get back"),
    ),
    Rule(
        "secret_request",
        rx(
            r"""\b(?:reveal|print|output|repeat|show|display|disclose|leak|dump|recite|
            tell|share|write\W+out|spell\W+out|return|echo)\b\W+(?:\w+\W+){0,1}?
            (?:your|the)\W+(?:\w+\W+){0,2}?(?:system\W+prompt|hidden\W+prompt|initial\W+
            prompt|original\W+prompt|prompt\W+(?:above|before)|instructions\W+(?:above|you\W+
            were\W+given)|(?:your|the)\W+(?:instructions|configuration|rules)\W+verbatim)"""
        ),
        imperative=True,
        hints=("prompt", "instructions", "verbatim"),
    ),
    Rule(
        "secret_request",
        rx(
            rf"""\b{_REQUEST}\b\W+(?:\w+\W+){{0,1}}?(?:your|the\W+user'?s?|the\W+agent'?s?|
            the\W+host'?s?|all)\W+(?:\w+\W+){{0,2}}?{SECRET}{GAP}\b(?:in|into|to|as|with)\W+
            (?:your|the|a|this)\W+(?:\w+\W+)?{_REPLY}\b"""
        ),
        imperative=True,
        hints=(
            "reply",
            "response",
            "answer",
            "output",
            "message",
            "summary",
            "comment",
            "issue",
            "experience",
            "report",
            "outcome",
            "entry",
            "note",
            "chat",
            "pull",
            "pr",
        ),
    ),
    Rule(
        "secret_request",
        rx(
            rf"""\b(?:{_REQUEST}|{_SEND})\b\W+(?:\w+\W+){{0,1}}?(?:the\W+)?(?:full\W+)?
            contents?\W+of\W+(?:your\W+|the\W+)?{STRONG_SECRET}"""
        ),
        imperative=True,
        hints=("content",),
    ),
    # ---- English: making the reader call a tool
    Rule(
        "tool_coercion",
        rx(
            rf"""\b{_CALL_VERB}\W+(?:the\W+|your\W+|a\W+)?(?:\w+\W+)?(?:tool|mcp\W+tool|
            function\W+call|tool\W+call)\W+(?:named\W+|called\W+)?{_TOOL_NAME}\W+
            (?:\w+\W+){{0,3}}?(?:with|passing|and\W+pass|using|on|to|setting|where|so\W+that)\b"""
        ),
        imperative=True,
        hints=("tool", "function call"),
    ),
    Rule(
        "tool_coercion",
        rx(
            rf"""\b{_TOOL_VERB}\W+(?:the\W+|your\W+)?{_TOOL_NAME}\W+tool\W+(?:\w+\W+){{0,3}}?
            (?:with|passing|and\W+pass|using|on|to|setting|where|so\W+that)\b"""
        ),
        imperative=True,
        hints=("tool",),
    ),
    Rule(
        "tool_coercion",
        rx(
            rf"""\b(?:{_TOOL_VERB}|upvote|downvote|report|vote)\b\W+(?:\w+\W+){{0,3}}?
            [`'"]?{_PLURUM_TOOL}"""
        ),
        imperative=True,
        hints=("plurum",),
    ),
    Rule(
        "tool_coercion",
        rx(
            r"""\b(?:immediately|now|first|before\W+(?:anything|answering|responding|
            continuing|doing\W+anything))\W+(?:\w+\W+){0,2}?(?:call|invoke|execute|run|use)\W+
            (?:the\W+)?(?:\w+\W+)?(?:tool|function)s?\b"""
        ),
        imperative=True,
        hints=("tool", "function"),
    ),
)

# Patterns over the text with everything but letters removed: what survives spacing,
# punctuation and zero-width splitting ("i g n o r e  a l l  p r e v i o u s …"). They run
# only where the same words were not found in the ordinary view (where quoting and mention
# are judged): a compact hit means the words were deliberately broken up.
COMPACT_RULES: tuple[Rule, ...] = (
    Rule(
        "override",
        re.compile(
            r"(?:ignore|disregard|forget|override|bypass)(?:all|any|of|the|your|my)*"
            r"(?:previous|prior|above|earlier|preceding|your|system|original|initial)"
            r"(?:instructions?|prompts?|rules|directives|guidelines)"
        ),
    ),
    Rule(
        "role_takeover",
        re.compile(
            r"youarenow(?:an?)?(?:dan|unrestricted|jailbroken|evil|"
            r"unfiltered|developermode|indevelopermode)"
        ),
    ),
    Rule(
        "role_takeover",
        re.compile(
            r"(?:enable|enter|activate)(?:the)?(?:developer|dan|god|"
            r"jailbreak)mode"
        ),
    ),
    Rule(
        "exfiltration",
        re.compile(
            r"(?:send|post|upload|exfiltrate|leak|email|forward)(?:me|us)?(?:all|the|your)*"
            r"(?:apikeys?|secretkeys?|privatekeys?|sshkeys?|credentials|secrets|tokens|"
            r"environmentvariables|envvars|systemprompt|idrsa|ssh|passwords)"
        ),
    ),
    Rule(
        "addresses_agent",
        re.compile(
            r"ifyouarean?(?:ai|llm|languagemodel|aiagent|"
            r"aiassistant|assistant)(?:reading|agent|model)?"
        ),
    ),
    Rule("override", re.compile(r"忽略(?:之前|以上|先前|所有|上面)的?(?:所有)?(?:指令|指示|提示)")),
    Rule(
        "override",
        re.compile(
            r"(?:игнорируй|забудь)(?:все)?(?:предыдущие|прежние|свои)"
            r"(?:инструкции|указания)"
        ),
    ),
    Rule(
        "override",
        re.compile(
            r"(?:ignora|olvida)(?:todas)?(?:las|tus)?instrucciones"
            r"(?:anteriores|previas)"
        ),
    ),
    Rule(
        "override",
        re.compile(
            r"(?:ignorez?|oubliez?)(?:toutes)?(?:les|tes|vos)?"
            r"instructions(?:pr[ée]c[ée]dentes|ant[ée]rieures)"
        ),
    ),
    Rule(
        "override",
        re.compile(
            r"(?:ignoriere|vergiss)(?:alle)?(?:vorherigen|bisherigen|"
            r"vorigen|deine)anweisungen"
        ),
    ),
)

# Shell and script forms of exfiltration, looked for in code too: a dump of the environment
# or a key file on the same logical lines as a network sink. A token in an Authorization
# header ($GITHUB_TOKEN) is not a dump; a public key (id_rsa.pub) is not a secret.
_SECRET_FILE = (
    r"(?:\.ssh/(?:id_[a-z0-9]+|identity)(?!\.pub)\b|\.aws/credentials|(?<![\w.])\.env(?![.\w-])|"
    r"\.netrc|\.git-credentials|\.npmrc|\.pypirc|/etc/shadow|/etc/passwd|\.kube/config|"
    r"\.docker/config\.json|\.config/gcloud|\.plurum/credentials|\.plurum\w*/\w+\.json|"
    r"\.bash_history|\.zsh_history)"
)
SHELL_SOURCE = re.compile(
    rf"""(?:\b(?:cat|base64|xxd|tar|zip|gzip|head|tail|less|more|type|get-content|gc)\b
    [^|;\n]{{0,80}}?{_SECRET_FILE}|@[^\s'"]{{0,40}}?{_SECRET_FILE}|--(?:post|upload|data)
    -?file[= ]\S{{0,40}}?{_SECRET_FILE}|-T\s+\S{{0,40}}?{_SECRET_FILE}|<\s*\S{{0,40}}?
    {_SECRET_FILE}|open\(\s*[^)]{{0,60}}?{_SECRET_FILE}|
    (?:^|[|;&(`]|\$\()\s*(?:env|printenv|set|export\s+-p|compgen\s+-e)\s*(?:\||\)|`|>\s*/dev/tcp)|
    dict\(\s*os\.environ\s*\)|os\.environ\.copy\(\)|json\.dumps\(\s*(?:dict\()?\s*os\.environ|
    str\(\s*os\.environ\s*\)|json\.stringify\(\s*process\.env\s*\)|\{{\s*\.\.\.process\.env\s*\}}|
    get-childitem\s+env:|\bls\s+env:|\$env:\*)""",
    re.VERBOSE | re.MULTILINE,
)
SHELL_SINK = re.compile(
    r"""\b(?:curl|wget|nc|ncat|netcat|socat|telnet|invoke-webrequest|invoke-restmethod|iwr|
    irm|ftp|tftp|sendmail|mail\s+-s|requests\.(?:post|put|get|patch)|httpx\.(?:post|put|get)|
    urllib\.request|urlopen|fetch\(|axios|http\.request|https\.request|xmlhttprequest|
    websocket\(|smtplib)\b|/dev/(?:tcp|udp)/""",
    re.VERBOSE,
)
# words one of which a text needs for SHELL_SINK to be worth running
SINK_WORDS = ("curl", "wget", "nc ", "ncat", "netcat", "socat", "telnet", "invoke-", "iwr", "irm",
              "ftp", "mail", "requests.", "httpx.", "urllib", "urlopen", "fetch(", "axios",
              "http.request", "https.request", "xmlhttprequest", "websocket(", "smtplib",
              "/dev/tcp", "/dev/udp")  # fmt: skip
