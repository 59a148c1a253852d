"""Credentials found by context: any assignment syntax, any header token shape, passwords in URLs.

Values are made up; none is a provider format the rules name, so only the context finds them.
"""

import pytest

from ftlineage.audit import scan_text

CONTEXT_SECRETS = [
 "curl -H 'Authorization: Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0' https://api.example.com",
 'headers = {"Authorization": "Bearer tok_4fG7hJ2kL9mN3pQ8rS1t"}',
 "Authorization: Token 3a9c1f77e2b04d5e8a6b",
 "X-API-Key: 7Hk2mP9qR4sT6vW8yZ1b",
 "api-key: a8F3kD92mZq7Lw4XpR1t",
 "aws_secret_access_key = Jk8sd9F2mQ/x7LpR4tW1zYb6NcV3hG5eK0aUoIqP",
 "AZURE_CLIENT_SECRET=Q~8Qz4vL.ab9XyZ_kd83JfPq2mnB7cW5",
 "DB_PASS=Zq8!rT4#wM2x",
 'SMTP_PASSWORD: "S3cure!Pass#2024"',
 "export OPENAI_API_KEY=\"x7Gk29LmQp4RtV8wZ3bN\"",
 '"client_secret": "d9f8a7b6c5e4d3c2b1a0f9e8"',
 "The service account's private_key_id is 4f2a9c81e7b3d6054a1f9e2c7b8d3a60f1e4c9b2.",
 "my password is Tr0ub4dor&3x, don't share it",
 "GOOGLE_APPLICATION_SECRET = 'Ab12Cd34Ef56Gh78Ij90'",
 "postgresql://admin:S3cr3tPw@db.internal:5432/app",
 "SIGNING_KEY=8d7f6e5d4c3b2a1908f7e6d5",
]

NOT_SECRETS = [
 "Set the Authorization header to Bearer followed by your token.",
 "Authorization: Bearer <your-token-here>",
 "Authorization: Bearer $TOKEN",
 "api_key = os.environ['API_KEY']",
 "password = getpass.getpass()",
 "DB_PASS=changeme",
 "The password is stored in the vault, never in code.",
 "Use a token_limit = 4096 for long prompts.",
 "secret_santa_assignment = random_pairing_for_everyone",
 "Your password must be at least 12 characters long.",
 "sha256 = 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
 "commit 4f2a9c81e7b3d6054a1f9e2c7b8d3a60f1e4c9b2 fixed the build",
 "token_count: 1234567890123",
 "Bearer bonds were popular in the 19th century.",
 "auth_method = oauth2_client_credentials",
]


def _secret_rules(text):
    return [f.rule for f in scan_text(text) if f.flag == "secret"]


@pytest.mark.parametrize("text", CONTEXT_SECRETS)
def test_credentials_are_found_by_their_context(text):
    assert _secret_rules(text), text


@pytest.mark.parametrize("text", NOT_SECRETS)
def test_placeholders_references_and_prose_are_not_secrets(text):
    assert not _secret_rules(text), text


def test_the_value_never_appears_in_the_finding():
    text = "DB_PASS=Zq8!rT4#wM2x"
    assert all("Zq8!rT4#wM2x" not in f.redacted for f in scan_text(text))
