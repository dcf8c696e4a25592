"""Workspace 2.0: mkdirs, import, export, get-status, list, delete (files under `<state>/workspace/`)."""
from __future__ import annotations

import base64

from starlette.responses import Response

from course.server.api.common import required, route, truthy


def mkdirs(state, args: dict) -> dict:
    state.files.mkdirs(required(args, "path"))
    return {}


def import_(state, args: dict) -> dict:
    state.files.import_(required(args, "path"), args.get("content") or "", args.get("format"),
                        args.get("language"), truthy(args.get("overwrite")))
    return {}


def export(state, args: dict):
    content, file_type = state.files.export(required(args, "path"), args.get("format"))
    if truthy(args.get("direct_download")):
        return Response(content, media_type="application/octet-stream")
    return {"content": base64.b64encode(content).decode("ascii"), "file_type": file_type}


def get_status(state, args: dict) -> dict:
    return state.files.entry(required(args, "path")).info()


def list_(state, args: dict) -> dict:
    items = [e.info() for e in state.files.children(required(args, "path"))]
    return {"objects": items} if items else {}


def delete(state, args: dict) -> dict:
    state.files.delete(required(args, "path"), truthy(args.get("recursive")))
    return {}


def routes(state) -> list:
    return [*route(state, "POST", "/workspace/mkdirs", mkdirs),
            *route(state, "POST", "/workspace/import", import_),
            *route(state, "GET", "/workspace/export", export),
            *route(state, "GET", "/workspace/get-status", get_status),
            *route(state, "GET", "/workspace/list", list_),
            *route(state, "POST", "/workspace/delete", delete)]
