"""Bearer tokens with scopes, from ``HUB_API__TOKENS``.

A presented token's SHA-256 is compared with :func:`hmac.compare_digest` against the
digest of every configured token (given as ``token`` or as ``token_sha256``), so the time
an answer takes says nothing about how much of a token was right, nor about its length.

A protected route declares ``dependencies=[Depends(requires(scope))]`` (which also puts
the bearer scheme in the OpenAPI document). :class:`AuthenticatedRoute` checks the same
token and scope before FastAPI reads the request's body, so that a caller without a
valid token learns nothing about what it sent: 401 and 403 come before any 422.
"""

import hmac
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from hub.api.audit import Handler, recording
from hub.settings import ApiScope, ApiToken, token_digest

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="A token from HUB_API__TOKENS; its scopes decide what it may read.",
)

CHALLENGE = {"WWW-Authenticate": "Bearer"}


def token_named(tokens: Sequence[ApiToken], presented: str) -> ApiToken | None:
    """The configured token equal to ``presented``, or None."""
    presented_digest = token_digest(presented)
    found = None
    for candidate in tokens:
        # No early exit: every token is compared, whichever matches.
        if hmac.compare_digest(candidate.digest, presented_digest):
            found = candidate
    return found


def authorise(request: Request, scope: ApiScope) -> ApiToken:
    """The request's bearer token when it is configured and holds ``scope``; else 401 or 403."""
    scheme, presented = get_authorization_scheme_param(request.headers.get("Authorization"))
    if scheme.lower() != "bearer" or not presented:
        raise HTTPException(401, "a bearer token is required (Authorization: Bearer …)", CHALLENGE)
    token = token_named(request.app.state.tokens, presented)
    if token is None:
        raise HTTPException(401, "the bearer token was not accepted", CHALLENGE)
    # Proven from here on, even if the scope is lacking: the audit names the reader by it.
    request.state.api_token = token
    if scope not in token.scopes:
        raise HTTPException(403, f"the token lacks the {scope} scope")
    return token


def requires(scope: ApiScope) -> Callable[..., Awaitable[ApiToken]]:
    """A dependency that admits a request whose bearer token holds ``scope``."""

    async def authorised(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
    ) -> ApiToken:
        return authorise(request, scope)

    authorised.required_scope = scope  # type: ignore[attr-defined]  # read by AuthenticatedRoute
    return authorised


class AuthenticatedRoute(APIRoute):
    """A route whose :func:`requires` dependencies are checked first, before the body is read.

    FastAPI parses a JSON body before it runs any dependency, so without this an
    unauthenticated ``POST`` of ``{bad`` would answer 422 rather than 401. A route marked
    :func:`hub.api.audit.audited` is wrapped, outside the check, in its audit recording."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        markers = [dependency.dependency for dependency in self.dependencies]
        scopes = [scope for marker in markers if (scope := getattr(marker, "required_scope", None))]
        views = [view for marker in markers if (view := getattr(marker, "audit_view", None))]
        if scopes:
            handler = _authenticated_first(handler, scopes)
        for view in views:
            handler = recording(handler, view)
        return handler


def _authenticated_first(handler: Handler, scopes: list[ApiScope]) -> Handler:
    async def authenticated_first(request: Request) -> Response:
        for scope in scopes:
            authorise(request, scope)
        return await handler(request)

    return authenticated_first
