"""Claims the test provider puts in ID tokens and userinfo: username, email and the user's
groups. A mode file (OIDC_PROVIDER_MODE_FILE) lets a test make the next ID tokens forged
(signed by a key the provider does not publish) or expired."""

import base64
import json
import os
import time
from pathlib import Path

from jwcrypto import jwk, jwt
from oauth2_provider.oauth2_validators import OAuth2Validator


def _mode() -> str:
    path = os.environ.get("OIDC_PROVIDER_MODE_FILE")
    return Path(path).read_text().strip() if path and Path(path).exists() else ""


class GroupsValidator(OAuth2Validator):
    oidc_claim_scope = None  # every claim below, whatever the scopes

    def get_additional_claims(self, request):
        user = request.user
        return {"preferred_username": user.username, "email": user.email,
                "groups": sorted(user.groups.values_list("name", flat=True))}

    def finalize_id_token(self, id_token, token, token_handler, request):
        signed = super().finalize_id_token(id_token, token, token_handler, request)
        mode = _mode()
        if mode not in ("forged", "expired"):
            return signed
        header_part, payload_part, _ = signed.split(".")
        header = json.loads(base64.urlsafe_b64decode(header_part + "=" * (-len(header_part) % 4)))
        claims = json.loads(base64.urlsafe_b64decode(payload_part + "=" * (-len(payload_part) % 4)))
        key = request.client.jwk_key
        if mode == "forged":
            key = jwk.JWK.generate(kty="RSA", size=2048)  # same kid in the header, another key
        else:
            claims["iat"], claims["exp"] = int(time.time()) - 3600, int(time.time()) - 1800
        token = jwt.JWT(header=json.dumps(header), claims=json.dumps(claims))
        token.make_signed_token(key)
        return token.serialize()
