"""`simplepose serve`: the pose model behind HTTP (an ASGI app on Starlette + uvicorn).

Layer 4 (beside commands/): it drives a predictor built by `commands.common`. Parts, one job each:
  uploads   read a request body within limits; sniff, size-check and decode an image
  batcher   one thread running `TopDownPredictor.predict_batch` on crops of many requests
  metrics   counters and histograms in the Prometheus text format
  app       the routes (Starlette), errors as `{"error": "..."}`, the bearer-token check
  static/   the web page served at `/` (no CDN, no build step)
"""
