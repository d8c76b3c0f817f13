"""Every error as ``{"error": {"status", "code", "message"}}``, never echoing what was sent.

FastAPI's own 422 body repeats the rejected input; here that could be a card number, so
the message names only where the problem is and what it is. A location names only what
the API declares (parameters and the fields of its models): a key the client made up,
say a card number sent as a key, is left out.
"""

import logging
import traceback
from collections.abc import Iterator, Mapping
from http import HTTPStatus
from typing import Any, get_args

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from hub.api.models import ErrorBody
from hub.errors import ServiceUnavailable, StoreError

log = logging.getLogger("hub.api")

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    422: "invalid_request",
    500: "internal_error",
    503: "unavailable",
}

# Customer data must not linger in browser or proxy caches; the page needs nothing from
# elsewhere, so the policy can forbid everything else. On every answer, errors included.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
}


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in {
        401: "No bearer token, or one that is not accepted",
        403: "The token lacks the scope",
        404: "No such customer",
        422: "A parameter is not valid",
        503: "The customer store is unavailable; try again shortly",
    }.items()
}


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    code = CODES.get(status) or HTTPStatus(status).phrase.lower().replace(" ", "_")
    body = {"error": {"status": status, "code": code, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


def internal_error(request: Request, exc: BaseException) -> JSONResponse:
    """The answer to an exception nothing else handled: logged by type and stack only.

    Neither the exception's message nor the request's path or body is logged: either can
    carry a customer id or a number. The route's template says where it happened."""
    route = request.scope.get("route")
    where = f"{request.method} {route.path if isinstance(route, APIRoute) else '(no route)'}"
    stack = "".join(traceback.format_tb(exc.__traceback__))
    log.error("answering 500 on %s: %s\n%s", where, type(exc).__qualname__, stack.rstrip())
    return error_response(500, "the hub API failed to answer; see the hub api log", headers=SECURITY_HEADERS)


def _model_field_names(annotation: Any) -> Iterator[str]:
    """Field names (and aliases) of the pydantic models in ``annotation``, nested ones too."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            yield name
            if field.alias:
                yield field.alias
            yield from _model_field_names(field.annotation)
    for argument in get_args(annotation):
        yield from _model_field_names(argument)


def _declared_names(dependant: Dependant) -> Iterator[str]:
    """What a route declares: parameter names and aliases, and the fields of its body models."""
    for param in (
        *dependant.path_params,
        *dependant.query_params,
        *dependant.header_params,
        *dependant.cookie_params,
        *dependant.body_params,
    ):
        yield param.name
        yield param.alias
        yield from _model_field_names(param.field_info.annotation)
    for sub in dependant.dependencies:
        yield from _declared_names(sub)


def validation_message(exc: RequestValidationError, declared: set[str] | frozenset[str] = frozenset()) -> str:
    """``query.limit: Input should be less than or equal to 200; …`` without the input.

    Only the part (body, query, path, …), positions and names in ``declared`` make up a
    location: anything else came from the client and is never repeated."""
    problems = []
    for error in exc.errors():
        where_part, *rest = error["loc"] or ("request",)
        kept = [str(where_part)] + [str(part) for part in rest if isinstance(part, int) or part in declared]
        problem = f"{'.'.join(kept)}: {error['msg']}"
        if problem not in problems:
            problems.append(problem)
    return "; ".join(problems) or "the request is not valid"


def status_for(exc: Exception) -> int:
    """The status the handlers below answer ``exc`` with (the audit records it)."""
    if isinstance(exc, HTTPException):
        return exc.status_code
    if isinstance(exc, RequestValidationError):
        return 422
    if isinstance(exc, ServiceUnavailable):
        return 503
    return 500


def register_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        route = request.scope.get("route")
        declared = set(_declared_names(route.dependant)) if isinstance(route, APIRoute) else set()
        return error_response(422, validation_message(exc, declared))

    @app.exception_handler(ServiceUnavailable)
    async def store_unavailable(request: Request, exc: ServiceUnavailable) -> JSONResponse:
        log.warning("answering 503: %s", exc)
        return error_response(503, "the customer store is unavailable; try again shortly")

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError) -> JSONResponse:
        log.error("answering 500: %s", exc)
        return error_response(500, "the customer store refused the query; see the hub api log")
