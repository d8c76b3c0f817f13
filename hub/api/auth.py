"""Bearer tokens with scopes, from ``HUB_API__TOKENS``.

Tokens are compared with :func:`hmac.compare_digest` against every configured token, so
the time an answer takes says nothing about how much of a token was right.
"""

import hmac
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hub.settings import ApiScope, ApiToken

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="A token from HUB_API__TOKENS; its scopes decide what it may read.",
)

CHALLENGE = {"WWW-Authenticate": "Bearer"}


def token_named(tokens: Sequence[ApiToken], presented: str) -> ApiToken | None:
    """The configured token equal to ``presented``, or None."""
    found = None
    for candidate in tokens:
        # No early exit: every token is compared, whichever matches.
        if hmac.compare_digest(candidate.token.get_secret_value().encode(), presented.encode()):
            found = candidate
    return found


def requires(scope: ApiScope) -> Callable[..., Awaitable[ApiToken]]:
    """A dependency that admits a request whose bearer token holds ``scope``."""

    async def authorised(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
    ) -> ApiToken:
        if credentials is None:
            raise HTTPException(401, "a bearer token is required (Authorization: Bearer …)", CHALLENGE)
        token = token_named(request.app.state.tokens, credentials.credentials)
        if token is None:
            raise HTTPException(401, "the bearer token was not accepted", CHALLENGE)
        if scope not in token.scopes:
            raise HTTPException(403, f"the token lacks the {scope} scope")
        return token

    return authorised
