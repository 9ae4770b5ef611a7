"""The OpenAPI 3.1 description of the service (written out: the routes take raw multipart
bodies read within limits, so no framework infers it)."""

from __future__ import annotations

from typing import Any

_ERROR = {
    "description": "refused",
    "content": {
        "application/json": {
            "schema": {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}
        }
    },
}

_PERSON = {
    "type": "object",
    "properties": {
        "box": {
            "type": "array",
            "items": {"type": "number"},
            "minItems": 4,
            "maxItems": 4,
            "description": "x1, y1, x2, y2 in image pixels",
        },
        "score": {"type": "number", "description": "box score x mean joint confidence (rescored as the paper)"},
        "keypoints": {
            "type": "array",
            "items": {"type": "array", "items": {"type": "number"}},
            "description": "one [x, y, confidence] per joint, image pixels",
        },
    },
}

_PREDICTION = {
    "type": "object",
    "properties": {
        "width": {"type": "integer"},
        "height": {"type": "integer"},
        "people": {"type": "array", "items": _PERSON},
        "model": {"type": "string"},
        "detector": {"type": "string"},
        "runtime": {"type": "string"},
    },
}


def describe() -> dict[str, Any]:
    """The service's OpenAPI document (a fresh dict)."""
    from ..cli import package_version

    def get(summary: str, description: str = "") -> dict[str, Any]:
        return {"get": {"summary": summary, "description": description, "responses": {"200": {"description": "ok"}}}}

    return {
        "openapi": "3.1.0",
        "info": {"title": "simplepose serve", "version": package_version()},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/v1/predict": {
                "post": {
                    "summary": "poses of the people in one image",
                    "description": "multipart field `image` (JPEG, PNG, BMP, WebP, TIFF); optional `boxes` (a "
                    "JSON list of [x1, y1, x2, y2]: then no detector runs) and `flip_test` (true/false).",
                    "requestBody": {
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "image": {"type": "string", "format": "binary"},
                                        "boxes": {"type": "string"},
                                        "flip_test": {"type": "boolean"},
                                    },
                                    "required": ["image"],
                                }
                            }
                        }
                    },
                    "responses": {
                        "200": {
                            "description": "the people found",
                            "content": {"application/json": {"schema": _PREDICTION}},
                        },
                        "401": _ERROR,
                        "413": _ERROR,
                        "415": _ERROR,
                        "422": _ERROR,
                        "503": _ERROR,
                    },
                }
            },
            "/healthz": get("alive"),
            "/readyz": get("model loaded", "names the model, detector and runtime"),
            "/metrics": get(
                "Prometheus text format",
                "requests by route and status, latency, batch sizes, queue depth, people per second",
            ),
            "/": get("the web page"),
        },
    }
