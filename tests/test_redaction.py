"""Credential redaction: a corpus of real-looking tool output.

The fake secrets are assembled from pieces so that this file itself never
contains a literal that secret scanners (or this module) would flag.
No fixtures: the tests run with ``--noconftest``.
"""

from __future__ import annotations

import hashlib
import random
import uuid

import pytest

from plurum_backend.redaction import (
    KINDS,
    Redaction,
    marker,
    redact_text,
    redact_value,
    summarize,
)

# --------------------------------------------------------------------------
# Fake secrets, assembled at runtime
# --------------------------------------------------------------------------

AWS_ID = "AK" + "IA" + "Z7QX4MPLE2K9WJ3B"
AWS_TEMP_ID = "AS" + "IA" + "Q2W3E4R5T6Y7U8I9"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYzXAMPLEKEY"
AWS_SESSION = "IQoJb3JpZ2luX2VjEJr//////////" + "wEaCXVzLWVhc3QtMSJHMEUCIQDx9kq"
GH_CLASSIC = "gh" + "p_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5"
GH_SERVER = "gh" + "s_" + "Zx8Cv7Bn6Mq5Wr4Ty3Ui2Op1As0Df9Gh8Jk7"
GH_FINE = "github" + "_pat_" + "11ABCDEFG0" + "aB3dE5gH7jK9mN1pQ3sT5v_" + "W7yZ9bC1dF3hJ5kL7" * 3
GITLAB = "gl" + "pat-" + "Xy7zAb3Cd5Ef9Gh1Ij2K"
SLACK_BOT = "xo" + "xb-" + "2401234567890-5407654321098-Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7"
SLACK_HOOK = (
    "https://hooks." + "slack.com/services/" + "T024BE7LD/B01AB2CD3EF/" + "Zx8Cv7Bn6Mq5Wr4Ty3Ui2Op1"
)
STRIPE_LIVE = "sk" + "_live_" + "51HqLyjWDarjtT1zdp7dc" + "Ab3Cd5Ef7Gh9Ij1Kl3Mn5"
STRIPE_TEST = "sk" + "_test_" + "4eC39HqLyjWDarjtT1zdp7dc"
STRIPE_RESTRICTED = "rk" + "_live_" + "51HqLyjWDarjtT1zdp7dcXy7zAb"
OPENAI_PROJ = "sk" + "-proj-" + "Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7_Qr9St1Uv3-Wx5Yz7Ab9Cd1Ef3"
OPENAI_LEGACY = "sk" + "-" + "Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7Qr9St1Uv3Wx5Yz7Ab9Cd1Ef3"
ANTHROPIC = "sk" + "-ant-" + "api03-" + "Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7Qr9St1Uv3Wx5Yz7_Ab9Cd1Ef3-Gh5AA"
PLURUM = "plrm" + "_live_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF"
GOOGLE = "AI" + "za" + "SyB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3h"
JWT = (
    "eyJ"
    + "hbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9"
    + ".eyJ"
    + "zdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkphbmUifQ"
    + ".dGhpcy1pcy1hLWZha2Utc2lnbmF0dXJlLW9mLXNvbWUtbGVuZ3Ro"
)
BEARER = "4f9c2a7e1b8d4f6a9c2e7b1d8f4a6c9e"
BASIC = "ZGVwbG95Omh1bnRlcjJfcHJvZA=="
PEM_BODY = (
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
    "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n"
    "NMoSfm76oqFvAp8Gy0iz5sxjZmSnXyCdPEovGhLa0VzMaQ8s+CLOyS56YyCFGeJZ\n"
)
PRIVATE_KEY = "-----BEGIN " + "PRIVATE KEY-----\n" + PEM_BODY + "-----END PRIVATE KEY-----"
RSA_KEY = "-----BEGIN RSA " + "PRIVATE KEY-----\n" + PEM_BODY + "-----END RSA PRIVATE KEY-----"
OPENSSH_KEY = (
    "-----BEGIN OPENSSH " + "PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACBh4p3sZ1YzJ5mQ2vUq9w8x7y6z5a4b3c2d1e0f9g8h7gAAAJgL2n5xC9p+\n"
    "-----END OPENSSH PRIVATE KEY-----"
)


# --------------------------------------------------------------------------
# Positives: (text, secrets that must disappear, expected counts)
# --------------------------------------------------------------------------

POSITIVES: dict[str, tuple[str, list[str], dict[str, int]]] = {
    "shell history exports": (
        f"  501  export AWS_ACCESS_KEY_ID={AWS_ID}\n"
        f"  502  export AWS_SECRET_ACCESS_KEY={AWS_SECRET}\n"
        "  503  aws s3 ls s3://plurum-backups --recursive\n",
        [AWS_ID, AWS_SECRET],
        {"aws_access_key": 1, "aws_secret_key": 1},
    ),
    "aws credentials file": (
        "[default]\n"
        f"aws_access_key_id = {AWS_TEMP_ID}\n"
        f"aws_secret_access_key = {AWS_SECRET}\n"
        f"aws_session_token = {AWS_SESSION}\n"
        "region = eu-west-1\n",
        [AWS_TEMP_ID, AWS_SECRET, AWS_SESSION],
        {"aws_access_key": 1, "aws_secret_key": 1, "token": 1},
    ),
    "aws sts json": (
        "{\n"
        '    "Credentials": {\n'
        f'        "AccessKeyId": "{AWS_TEMP_ID}",\n'
        f'        "SecretAccessKey": "{AWS_SECRET}",\n'
        f'        "SessionToken": "{AWS_SESSION}",\n'
        '        "Expiration": "2024-06-01T12:00:00+00:00"\n'
        "    }\n"
        "}\n",
        [AWS_TEMP_ID, AWS_SECRET, AWS_SESSION],
        {"aws_access_key": 1, "aws_secret_key": 1, "token": 1},
    ),
    "aws credentials csv": (
        "User name,Password,Access key ID,Secret access key,Console login link\n"
        f"deploy,,{AWS_ID},{AWS_SECRET},https://123456789012.signin.aws.amazon.com/console\n",
        [AWS_ID, AWS_SECRET],
        {"aws_access_key": 1, "aws_secret_key": 1},
    ),
    "dotenv file": (
        "DEBUG=false\n"
        "DATABASE_URL=postgres://app:S3cr3t-Pa55@db.internal:5432/app\n"
        "SECRET_KEY=django-insecure-9x!k2m@q7#w4e8r\n"
        f"STRIPE_SECRET_KEY={STRIPE_LIVE}\n"
        f"OPENAI_API_KEY={OPENAI_PROJ}\n"
        f"ANTHROPIC_API_KEY={ANTHROPIC}\n"
        "ALLOWED_HOSTS=localhost,127.0.0.1\n",
        ["S3cr3t-Pa55", "django-insecure-9x!k2m@q7#w4e8r", STRIPE_LIVE, OPENAI_PROJ, ANTHROPIC],
        {
            "url_password": 1,
            "secret": 1,
            "stripe_key": 1,
            "openai_key": 1,
            "anthropic_key": 1,
        },
    ),
    "docker compose yaml": (
        "services:\n"
        "  db:\n"
        "    image: postgres:16\n"
        "    environment:\n"
        "      POSTGRES_PASSWORD: hunter2prod\n"
        '      PGADMIN_DEFAULT_PASSWORD: "correct horse battery"\n'
        "  worker:\n"
        "    environment:\n"
        "      - API_TOKEN=abc123def456ghi789\n"
        "      - LOG_LEVEL=info\n",
        ["hunter2prod", "correct horse battery", "abc123def456ghi789"],
        {"password": 2, "token": 1},
    ),
    "yaml list item and comment": (
        "users:\n  - password: s3cr3t!x\n    name: ci\n# token: 9f8e7d6c5b4a\n",
        ["s3cr3t!x", "9f8e7d6c5b4a"],
        {"password": 1, "token": 1},
    ),
    "yaml unquoted passphrase": (
        "ssl:\n  passphrase: tangerine violet 42   # rotate quarterly\n",
        ["tangerine", "violet 42"],
        {"password": 1},
    ),
    "json config": (
        '{"api_key": "abcd1234efgh5678", "token": "tok_9f8e7d6c", '
        '"max_tokens": 1024, "password": "", "client_secret": "Zm9vYmFyYmF6cXV4"}',
        ["abcd1234efgh5678", "tok_9f8e7d6c", "Zm9vYmFyYmF6cXV4"],
        {"api_key": 1, "token": 1, "secret": 1},
    ),
    "compact and escaped json": (
        'body={"username":"bob","password":"pa55w0rd!"}\n'
        'payload="{\\"password\\": \\"pa55w0rd!\\", \\"remember\\": true}"\n',
        ["pa55w0rd!"],
        {"password": 2},
    ),
    "traceback with dsn": (
        "Traceback (most recent call last):\n"
        '  File "/app/db.py", line 12, in connect\n'
        '    engine = create_engine("postgresql+psycopg://app:Tr0ub4dor&3@localhost/app")\n'
        "sqlalchemy.exc.OperationalError: (psycopg.OperationalError) connection failed: "
        'FATAL:  password authentication failed for user "app"\n',
        ["Tr0ub4dor&3"],
        {"url_password": 1},
    ),
    "curl anthropic": (
        "curl https://api.anthropic.com/v1/messages \\\n"
        f'  -H "x-api-key: {ANTHROPIC}" \\\n'
        '  -H "anthropic-version: 2023-06-01" \\\n'
        '  -d \'{"model": "claude-3-5-sonnet", "max_tokens": 1024}\'\n',
        [ANTHROPIC],
        {"anthropic_key": 1},
    ),
    "curl bearer": (
        f"curl -sS -H 'Authorization: Bearer {BEARER}' https://api.example.com/v1/me\n",
        [BEARER],
        {"bearer_token": 1},
    ),
    "curl basic auth": (
        "curl -u deploy:hunter2_prod https://ci.example.com/api/json\n"
        f"> Authorization: Basic {BASIC}\n",
        ["hunter2_prod", BASIC],
        {"password": 1, "basic_auth": 1},
    ),
    "curl verbose headers": (
        "> GET /v2/items HTTP/1.1\n> Host: api.example.com\n"
        "> X-Api-Key: 0123abcd9876fedc\n> X-Auth-Token: Zm9vLWJhci1iYXo5\n> Accept: */*\n",
        ["0123abcd9876fedc", "Zm9vLWJhci1iYXo5"],
        {"api_key": 1, "token": 1},
    ),
    "curl custom headers": (
        "curl -H \"X-Api-Key: 0123abcd9876fedc\" -H 'X-Vault-Token: hvs.CAESIJ3k9' https://x.test\n",
        ["0123abcd9876fedc", "hvs.CAESIJ3k9"],
        {"api_key": 1, "token": 1},
    ),
    "bare bearer in python dict": (
        f"headers = {{'Accept': 'application/json', 'X': 'Bearer {BEARER}'}}\n",
        [BEARER],
        {"bearer_token": 1},
    ),
    "jwt in log": (
        f"DEBUG oauth: got id_token={JWT} expires_in=3600\nAuthorization: Bearer {JWT}\n",
        [JWT],
        {"jwt": 2},
    ),
    "github tokens": (
        f"origin\thttps://x-access-token:{GH_SERVER}@github.com/plurum/plurum.git (fetch)\n"
        f"GITHUB_TOKEN={GH_CLASSIC}\n"
        f"gh auth login --with-token <<< {GH_FINE}\n",
        [GH_SERVER, GH_CLASSIC, GH_FINE],
        {"github_token": 3},
    ),
    "gitlab token": (
        f"git clone https://oauth2:{GITLAB}@gitlab.com/group/project.git\n"
        f'curl --header "PRIVATE-TOKEN: {GITLAB}" https://gitlab.com/api/v4/projects\n',
        [GITLAB],
        {"gitlab_token": 2},
    ),
    "slack": (
        f"SLACK_BOT_TOKEN={SLACK_BOT}\n"
        f'curl -X POST -d \'{{"text": "deploy done"}}\' {SLACK_HOOK}\n',
        [SLACK_BOT, "T024BE7LD/B01AB2CD3EF"],
        {"slack_token": 1, "slack_webhook": 1},
    ),
    "stripe": (
        f'stripe.api_key = "{STRIPE_TEST}"\nexport STRIPE_RESTRICTED={STRIPE_RESTRICTED}\n',
        [STRIPE_TEST, STRIPE_RESTRICTED],
        {"stripe_key": 2},
    ),
    "openai": (
        f'client = OpenAI(api_key="{OPENAI_PROJ}")\n'
        f"openai.error.AuthenticationError: Incorrect API key provided: {OPENAI_LEGACY}.\n",
        [OPENAI_PROJ, OPENAI_LEGACY],
        {"openai_key": 2},
    ),
    "plurum": (
        f"Agent registered. Your API key: {PLURUM}\nexport PLURUM_API_KEY={PLURUM}\n",
        [PLURUM],
        {"plurum_key": 2},
    ),
    "google": (
        f"GET https://maps.googleapis.com/maps/api/geocode/json?address=Berlin&key={GOOGLE} 200\n",
        [GOOGLE],
        {"google_api_key": 1},
    ),
    "private keys": (
        f"$ cat ~/.ssh/id_ed25519\n{OPENSSH_KEY}\n$ cat key.pem\n{RSA_KEY}\n$ echo done\n",
        ["b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"],
        {"private_key": 2},
    ),
    "private key in service account json": (
        '{"type": "service_account", "private_key_id": "1a2b3c", "private_key": "'
        + PRIVATE_KEY.replace("\n", "\\n")
        + '\\n", "client_email": "ci@proj.iam.gserviceaccount.com"}',
        ["MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "NMoSfm76oqFvAp8Gy0iz5sxjZmSnXyCdPEovGhLa0VzMaQ8s"],
        {"private_key": 1},
    ),
    "truncated private key": (
        "-----BEGIN RSA " + "PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
        "DEK-Info: AES-128-CBC,3F17F5316E2BAC89\n\n" + PEM_BODY + "[... output truncated ...]\n",
        ["MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "3F17F5316E2BAC89"],
        {"private_key": 1},
    ),
    "url passwords": (
        "redis://:p4ssw0rd@cache:6379/0\n"
        "mongodb+srv://admin:pa%24%24word@cluster0.mongodb.net/test\n"
        "amqp://guest:guestpass@rabbitmq:5672/\n",
        ["p4ssw0rd", "pa%24%24word", "guestpass"],
        {"url_password": 3},
    ),
    "command-line flags": (
        "mysql -h db -u root --password=s3cretSQL plurum\n"
        "vault login -method=userpass username=ci password=v4ultPass\n"
        "plurum-cli --api-key 9f8e7d6c5b4a3921 --verbose\n"
        "java -Djavax.net.ssl.keyStorePassword=changeit -jar app.jar\n"
        "openssl pkcs12 -export -passout pass:x --passphrase 'my long phrase'\n",
        ["s3cretSQL", "v4ultPass", "9f8e7d6c5b4a3921", "changeit", "my long phrase"],
        {"password": 4, "api_key": 1},
    ),
    "code and config literals": (
        'password = "hunter2"\n'
        "secret = 'abc123xyz'\n"
        'DB_PASSWORD := "go-s3cret"\n'
        "'password' => 'php-s3cret',\n"
        "spring.datasource.password=spring-s3cret\n"
        '[database]\npassword = "toml-s3cret"\n',
        ["hunter2", "abc123xyz", "go-s3cret", "php-s3cret", "spring-s3cret", "toml-s3cret"],
        {"password": 5, "secret": 1},
    ),
    "annotated python constants": (
        'API_TOKEN: Final = "prod-9f8e7d"\nDB_PASSWORD: str | None = "pg-s3cret"\n',
        ["prod-9f8e7d", "pg-s3cret"],
        {"token": 1, "password": 1},
    ),
    "maven settings xml": (
        "<server>\n  <id>nexus</id>\n  <username>deploy</username>\n"
        "  <password>nexus-s3cret</password>\n</server>\n",
        ["nexus-s3cret"],
        {"password": 1},
    ),
    "logfmt and tostring": (
        "level=info msg=login user=bob password=s3cret ip=10.0.0.1\n"
        "DEBUG User{name=bob, password=letmein, admin=false}\n"
        "docker run -e POSTGRES_PASSWORD=letmein postgres:16\n",
        ["s3cret", "letmein"],
        {"password": 3},
    ),
    "query string": (
        "GET /callback?code=abc&access_token=ya29.a0AfB_byC1&state=xyz HTTP/1.1\n",
        ["ya29.a0AfB_byC1"],
        {"token": 1},
    ),
    "netrc": (
        "machine api.heroku.com\n  login ci@example.com\n  password 01234567-89ab-cdef\n",
        ["01234567-89ab-cdef"],
        {"password": 1},
    ),
    "password flags of login tools": (
        "sshpass -p 'Sup3r!' ssh deploy@10.0.0.5 uptime\n"
        "docker login -u ci -p dckr-Pa55 registry.example.com\n",
        ["Sup3r!", "dckr-Pa55"],
        {"password": 2},
    ),
    "kubernetes secret": (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n"
        "  password: cGFzc3dvcmQxMjM=\n  api-token: dG9rZW4tdmFsdWU=\n",
        ["cGFzc3dvcmQxMjM=", "dG9rZW4tdmFsdWU="],
        {"password": 1, "token": 1},
    ),
    "python repr": (
        "Settings(database_url=None, secret_key='dj4ngo-k3y', debug=False)\n",
        ["dj4ngo-k3y"],
        {"secret": 1},
    ),
    "password prompt line": (
        "Username: admin\nPassword: Adm1n!2024\n",
        ["Adm1n!2024"],
        {"password": 1},
    ),
}


@pytest.mark.parametrize("name", list(POSITIVES))
def test_positive_corpus(name: str) -> None:
    text, secrets, expected = POSITIVES[name]
    scrubbed, counts = redact_text(text)
    for secret in secrets:
        assert secret not in scrubbed, f"{secret!r} survived in {scrubbed!r}"
    assert counts == expected, scrubbed
    for kind, n in expected.items():
        assert scrubbed.count(marker(kind)) == n, scrubbed
    assert set(counts) <= set(KINDS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"export AWS_SECRET_ACCESS_KEY={AWS_SECRET}",
            "export AWS_SECRET_ACCESS_KEY=[REDACTED:aws_secret_key]",
        ),
        (
            "postgres://bob:s3cret@db:5432/app?sslmode=require",
            "postgres://bob:[REDACTED:url_password]@db:5432/app?sslmode=require",
        ),
        (
            f'curl -H "Authorization: Bearer {BEARER}" https://x.test',
            'curl -H "Authorization: Bearer [REDACTED:bearer_token]" https://x.test',
        ),
        (
            '{"password": "x1", "max_tokens": 5}',
            '{"password": "[REDACTED:password]", "max_tokens": 5}',
        ),
        ("password: hunter2   # old", "password: [REDACTED:password]   # old"),
        ("--password hunter2 --verbose", "--password [REDACTED:password] --verbose"),
        (
            f"before\n{RSA_KEY}\nafter",
            "before\n[REDACTED:private_key]\nafter",
        ),
        (f"key {GH_CLASSIC}.", "key [REDACTED:github_token]."),
        (f"AKIA={AWS_ID}", "AKIA=[REDACTED:aws_access_key]"),
        (
            f"https://user:{GH_CLASSIC}@github.com/o/r",
            "https://user:[REDACTED:github_token]@github.com/o/r",
        ),
    ],
)
def test_exact_output(text: str, expected: str) -> None:
    assert redact_text(text)[0] == expected


# --------------------------------------------------------------------------
# Near misses: must survive byte for byte
# --------------------------------------------------------------------------

_SHA1 = hashlib.sha1(b"plurum").hexdigest()
_SHA256 = hashlib.sha256(b"plurum").hexdigest()
_UUID = "3f2b8c1e-9d4a-4e7b-8f6c-2a1d0e9b7c53"

NEGATIVES: list[str] = [
    # hashes, ids, digests
    f"commit {_SHA1}\nAuthor: Jane Doe <jane@example.com>\n\n    Fix token refresh\n",
    f"{_SHA256}  dist/plurum-0.1.0.tar.gz\n",
    f"Digest: sha256:{_SHA256}\nStatus: Downloaded newer image for postgres:16\n",
    f"image: ghcr.io/plurum/backend@sha256:{_SHA256}\n",
    f"request_id={_UUID} session={_UUID.upper()}\n",
    f"git checkout {_SHA1[:12]} && git rev-parse HEAD  # {_SHA1}\n",
    f'{{"sha": "{_SHA1}", "tree": {{"sha": "{_SHA1}"}}}}\n',
    "data: SGVsbG8sIHdvcmxkISBUaGlzIGlzIGp1c3Qgc29tZSBvcmRpbmFyeSBkYXRh\n",
    "docker config: eyJhdXRocyI6e319\n",
    # code that mentions credentials without containing one
    "token = get_token()\n",
    'password = os.environ["DB_PASSWORD"]\n',
    "api_key = os.getenv('OPENAI_API_KEY', None)\n",
    "secret = settings.SECRET_KEY\n",
    "self.token = token\n",
    "password = db_password\n",
    "def login(user: str, password: str) -> Token:\n",
    "class Login(BaseModel):\n    username: str\n    password: SecretStr = Field(min_length=8)\n",
    "conn = connect(host=host, user=user, password=password)\n",
    "    client = Client(\n        token=token,\n        api_key=api_key,\n    )\n",
    'headers = {"Authorization": f"Bearer {token}"}\n',
    "const token = await getToken();\n",
    'let password = prompt("Password:");\n',
    "interface Login {\n  password?: string;\n  token: string;\n}\n",
    "if password == expected_password and token != '':\n",
    "refresh_token: str | None = None\nsecret: dict[str, list[int]] = {}\n",
    "    api_key: Optional[SecretStr] = Field(default=None, alias='apiKey')\n",
    "password_hash = bcrypt.hashpw(password.encode(), bcrypt.gensalt())\n",
    "tokenizer = AutoTokenizer.from_pretrained(name)\n",
    "password VARCHAR(255) NOT NULL,\n",
    "logger.info('token: %s', redacted)\n",
    # prose
    "Reset your password in settings. The token expires after one hour.\n",
    "Never commit secrets: use a vault, and rotate every API key quarterly.\n",
    "ERROR auth: Invalid token: expected 3 segments, got 1\n",
    'FATAL:  password authentication failed for user "app"\n',
    "The bearer of this message has no secrets.\n",
    # token-ish counters and settings
    "max_tokens=1024 prompt_tokens=12 tokens_used=5 token_type=bearer\n",
    '{"usage": {"prompt_tokens": 12, "completion_tokens": 30}, "token_count": 42}\n',
    '{"token": 12345, "secret": true, "api_key": null}\n',
    # prefixes in ordinary words, or too short
    "task-sk-1 risk-sk-abcdefghijklmnopqrstuvwxyz0123456789 sk-learn\n",
    "pip install scikit-learn; disk-sk-0 ok; ask-Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7Qr9St1Uv3\n",
    "AKIA1234 AKIAZ7QX4MPLE2K9WJ3 AKIAZ7QX4MPLE2K9WJ3BX\n",
    "ghp_short gho_ github_pat_ xoxb-not-a-token sk_live_ plrm_live_abc\n",
    "AIzaTooShort eyJhbGciOiJIUzI1NiJ9 xoxo-hugs-and-kisses\n",
    # placeholders
    "DB_PASSWORD=${DB_PASSWORD}\npassword: <password>\ntoken: ${{ secrets.GITHUB_TOKEN }}\n",
    'PGPASSWORD=$PGPASSWORD psql\n"password": "***"\n"password": "[FILTERED]"\nPASSWORD=\n',
    "api_key: null\npassword: None\nsecret: xxxxxxxx\ntoken: '{{ .Values.token }}'\n",
    "postgres://user:${DB_PASS}@db/app  mysql://root:***@localhost/x\n",
    "Authorization: Bearer $TOKEN\nAuthorization: Bearer <token>\nAuthorization: token {tok}\n",
    "  --token TOKEN         API token to use\n"
    "  --password-stdin      Take the password from stdin\n",
    "--password-file /run/secrets/db --token $(cat /run/secrets/token)\n",
    "password=%(password)s  secret: %SECRET%\n",
    # URLs and user:group pairs that are not credentials
    "git@github.com:plurum/plurum.git ssh://git@github.com:22/plurum/plurum\n",
    "https://example.com:8443/path@v1 http://[::1]:8080/health\n",
    "docker run -u 1000:1000 --rm image\n",
    # masked or computed values
    "  + password = (sensitive value)\n  + token    = (known after apply)\n",
    "docker login -u ci --password-stdin registry.example.com\n",
    "machine api.example.com login ci password $NETRC_PASSWORD\n",
    # headings and empty values
    "Password:\nToken:\n",
]


@pytest.mark.parametrize("text", NEGATIVES)
def test_near_misses_survive(text: str) -> None:
    assert redact_text(text) == (text, {})


# --------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------


def test_idempotent() -> None:
    corpus = "\n".join(text for text, _, _ in POSITIVES.values())
    once, counts = redact_text(corpus)
    assert counts
    assert redact_text(once) == (once, {})


def test_empty_and_plain() -> None:
    assert redact_text("") == ("", {})
    assert redact_text("hello world") == ("hello world", {})


def test_counts_are_per_occurrence() -> None:
    text = f"{GH_CLASSIC} {GH_CLASSIC}\n{GH_SERVER}"
    scrubbed, counts = redact_text(text)
    assert counts == {"github_token": 3}
    assert scrubbed == " ".join([marker("github_token")] * 2) + "\n" + marker("github_token")


def test_summarize() -> None:
    _, counts = redact_text(f"a={AWS_ID} b={GH_CLASSIC} c={GH_SERVER}")
    assert summarize(counts) == (Redaction("aws_access_key", 1), Redaction("github_token", 2))
    assert summarize({}) == ()


def _megabyte_of_logs() -> str:
    rnd = random.Random(1234)
    lines = [
        "commit {sha}\nAuthor: Jane Doe <jane@example.com>\n\n"
        "    Fix token refresh when the password changes\n",
        "{sha256}  dist/plurum-0.1.0.tar.gz\n",
        "INFO request_id={uuid} path=/api/v1/experiences status=200 max_tokens=1024 took=12ms\n",
        '  File "/usr/lib/python3.11/site-packages/httpx/_client.py", line 1014, in send\n'
        "    response = self._send_handling_auth(request, auth=auth, follow_redirects=True)\n",
        "def login(user: str, password: str) -> Token:\n"
        "    token = get_token(user, password=password)\n",
        "Reset your password in settings. The token expires after one hour; "
        "secret rotation is manual.\n",
        "image: ghcr.io/plurum/backend@sha256:{sha256}\n",
        '{{"id": "{uuid}", "tokens_used": 512, "model": "all-MiniLM-L6-v2", "score": 0.93}}\n',
        "Successfully installed anyio-4.4.0 certifi-2024.7.4 h11-0.14.0 httpx-0.27.0\n",
        "data: SGVsbG8sIHdvcmxkISBUaGlzIGlzIGp1c3Qgc29tZSBvcmRpbmFyeSBkYXRh\n",
        "    assert task-sk-1 == 'risk-assessment-framework-overview-2024'\n",
        "GET https://example.com:443/static/app.js HTTP/1.1 Authorization: (none)\n",
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUY2VydA==\n-----END CERTIFICATE-----\n",
    ]
    parts: list[str] = []
    size = 0
    while size < 1 << 20:
        line = rnd.choice(lines).format(
            sha=hashlib.sha1(str(rnd.random()).encode()).hexdigest(),
            sha256=hashlib.sha256(str(rnd.random()).encode()).hexdigest(),
            uuid=uuid.UUID(int=rnd.getrandbits(128)),
        )
        parts.append(line)
        size += len(line)
    return "".join(parts)[: 1 << 20]


def test_megabyte_of_clean_logs_is_unchanged() -> None:
    text = _megabyte_of_logs()
    assert len(text) == 1 << 20
    assert redact_text(text) == (text, {})


@pytest.mark.parametrize(
    "text",
    [
        "a" * (1 << 20),
        "-----BEGIN PRIVATE " + "KEY-----" * 30_000,
        "eyJ" * 300_000,
        "password=" * 100_000,
        "a://" + "b" * (1 << 20),
        "password: " + "a " * 400_000,
        ("x" * 100 + " ") * 10_000,
        "=" * (1 << 20),
        '\\"' * (1 << 19),
    ],
    ids=["letters", "begin", "eyj", "password=", "url", "yaml", "words", "equals", "escapes"],
)
def test_pathological_inputs_complete(text: str) -> None:
    # Linear-time patterns: each of these finishes in a fraction of a second.
    scrubbed, _ = redact_text(text)
    assert isinstance(scrubbed, str)


def test_secret_embedded_in_megabyte() -> None:
    text = _megabyte_of_logs() + f"\nexport GITHUB_TOKEN={GH_CLASSIC}\n"
    scrubbed, counts = redact_text(text)
    assert counts == {"github_token": 1}
    assert GH_CLASSIC not in scrubbed


# --------------------------------------------------------------------------
# redact_value
# --------------------------------------------------------------------------


def test_redact_value_nested_json() -> None:
    value = {
        "tool": "bash",
        "exit_code": 0,
        "ok": True,
        "ratio": 0.5,
        "missing": None,
        "output": f"export GITHUB_TOKEN={GH_CLASSIC}\ndone",
        "env": {
            "DB_PASSWORD": "hunter2",
            "apiKey": "abc",
            "X-Api-Key": "k-123",
            "client_secret": "Zm9v",
            "max_tokens": 1024,
            "TOKEN_PLACEHOLDER": "${TOKEN}",
            "password": "",
            "passwordHint": "your cat",
            "GITHUB_TOKEN": GH_CLASSIC,
            "session_token": f'{{"nested": "{GH_SERVER}"}}',
        },
        "headers": {"Authorization": f"Bearer {BEARER}", "Accept": "application/json"},
        "steps": [
            {"cmd": f"curl -u ci:{BEARER} https://x.test", "token": "tok_123"},
            [f"key={AWS_ID}", 7, None],
            ("tuple", f"{STRIPE_TEST}"),
        ],
        42: "non-string keys are fine",
    }
    scrubbed, counts = redact_value(value)
    assert scrubbed == {
        "tool": "bash",
        "exit_code": 0,
        "ok": True,
        "ratio": 0.5,
        "missing": None,
        "output": "export GITHUB_TOKEN=[REDACTED:github_token]\ndone",
        "env": {
            "DB_PASSWORD": "[REDACTED:password]",
            "apiKey": "[REDACTED:api_key]",
            "X-Api-Key": "[REDACTED:api_key]",
            "client_secret": "[REDACTED:secret]",
            "max_tokens": 1024,
            "TOKEN_PLACEHOLDER": "${TOKEN}",
            "password": "",
            "passwordHint": "your cat",
            "GITHUB_TOKEN": "[REDACTED:github_token]",
            "session_token": '{"nested": "[REDACTED:github_token]"}',
        },
        "headers": {
            "Authorization": "Bearer [REDACTED:bearer_token]",
            "Accept": "application/json",
        },
        "steps": [
            {"cmd": "curl -u ci:[REDACTED:password] https://x.test", "token": "[REDACTED:token]"},
            ["key=[REDACTED:aws_access_key]", 7, None],
            ("tuple", "[REDACTED:stripe_key]"),
        ],
        42: "non-string keys are fine",
    }
    assert counts == {
        "github_token": 3,
        "password": 2,
        "api_key": 2,
        "secret": 1,
        "bearer_token": 1,
        "token": 1,
        "aws_access_key": 1,
        "stripe_key": 1,
    }
    # the input is not modified
    assert value["env"]["DB_PASSWORD"] == "hunter2"  # type: ignore[index]


def test_redact_value_scalars() -> None:
    assert redact_value(None) == (None, {})
    assert redact_value(3) == (3, {})
    assert redact_value(False) == (False, {})
    assert redact_value(f"token {GH_CLASSIC}") == (
        "token [REDACTED:github_token]",
        {"github_token": 1},
    )


def test_redact_value_authorization_variants() -> None:
    scrubbed, counts = redact_value(
        {
            "authorization": f"Basic {BASIC}",
            "Proxy-Authorization": "opaque-value-123",
            "x": "Bearer $T",
        }
    )
    assert scrubbed == {
        "authorization": "Basic [REDACTED:basic_auth]",
        "Proxy-Authorization": "[REDACTED:bearer_token]",
        "x": "Bearer $T",
    }
    assert counts == {"basic_auth": 1, "bearer_token": 1}


def test_corpus_covers_every_kind() -> None:
    seen: set[str] = set()
    for _, _, expected in POSITIVES.values():
        seen.update(expected)
    assert seen == set(KINDS)
