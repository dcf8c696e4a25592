"""Databricks' error replies: `{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": …}` and the HTTP code.

Every API handler raises `ApiError` (or one of the helpers below); `app` turns it into
the JSON body and status the SDK maps to its own exceptions (`NotFound`, `InvalidParameterValue`, …).
"""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse


class ApiError(Exception):
    """One failed API call: HTTP status, Databricks error code, one-sentence message."""

    def __init__(self, status: int, error_code: str, message: str):
        super().__init__(message)
        self.status, self.error_code, self.message = status, error_code, message

    def response(self) -> JSONResponse:
        return JSONResponse({"error_code": self.error_code, "message": self.message}, status_code=self.status)


def invalid(message: str) -> ApiError:
    """400 INVALID_PARAMETER_VALUE: the request names something wrong."""
    return ApiError(400, "INVALID_PARAMETER_VALUE", message)


def not_found(message: str) -> ApiError:
    """404 RESOURCE_DOES_NOT_EXIST."""
    return ApiError(404, "RESOURCE_DOES_NOT_EXIST", message)


def already_exists(message: str) -> ApiError:
    """400 RESOURCE_ALREADY_EXISTS."""
    return ApiError(400, "RESOURCE_ALREADY_EXISTS", message)


def invalid_state(message: str) -> ApiError:
    """400 INVALID_STATE: the object exists but cannot do that now (repair an active run, …)."""
    return ApiError(400, "INVALID_STATE", message)


async def handle_api_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette exception handler for ApiError."""
    assert isinstance(exc, ApiError)
    return exc.response()
