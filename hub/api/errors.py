"""Every error as ``{"error": {"status", "code", "message"}}``, never echoing what was sent.

FastAPI's own 422 body repeats the rejected input; here that could be a card number, so
the message names only where the problem is and what it is.
"""

import logging
from collections.abc import Mapping
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

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


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    code = CODES.get(status) or HTTPStatus(status).phrase.lower().replace(" ", "_")
    body = {"error": {"status": status, "code": code, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


def validation_message(exc: RequestValidationError) -> str:
    """``query.limit: Input should be less than or equal to 200; …`` without the input."""
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems) or "the request is not valid"


def register_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, validation_message(exc))

    @app.exception_handler(ServiceUnavailable)
    async def store_unavailable(request: Request, exc: ServiceUnavailable) -> JSONResponse:
        log.warning("answering 503: %s", exc)
        return error_response(503, "the customer store is unavailable; try again shortly")

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError) -> JSONResponse:
        log.error("answering 500: %s", exc)
        return error_response(500, "the customer store refused the query; see the hub api log")
