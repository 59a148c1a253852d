"""A model worker: one registered model behind ``POST /predict``, one process per arm.

    python -m ftlineage.canary._worker --model-uri models:/healthcare-postcall/3 --port 8601
    python -m ftlineage.canary._worker --stub --port 8601     # instant echo, for benchmarks

Killing a worker takes only its arm down: the router falls back to the champion.
"""

import argparse
import os
import threading
import time
from collections.abc import Callable
from typing import Any

Predict = Callable[[list[str]], list[str]]


def exit_with_parent(interval: float = 0.5) -> None:
    """Exit when the parent process is gone, so a killed canary leaves no orphan behind."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def build_app(predict: Predict) -> Any:
    """The worker's FastAPI app. Predictions are serialized: one model, one generation at a time."""
    from fastapi import FastAPI

    app = FastAPI(title="ftlineage model worker")
    lock = threading.Lock()

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/predict")
    def run(body: dict[str, Any]) -> dict[str, Any]:
        inputs = [str(x) for x in body.get("inputs", [])]
        start = time.perf_counter()
        with lock:
            outputs = [str(o) for o in predict(inputs)]
        return {"predictions": outputs, "seconds": time.perf_counter() - start}

    return app


def _model_predict(uri: str) -> Predict:
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model(uri)
    return lambda inputs: list(model.predict(inputs))


def main(argv: list[str] | None = None) -> None:
    """Serve one model (or the stub) on loopback until killed."""
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-uri")
    parser.add_argument("--stub", action="store_true", help="echo a fixed JSON answer instantly")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    if not args.stub and not args.model_uri:
        parser.error("--model-uri is required unless --stub")
    predict: Predict = (
        (lambda xs: ['{"answer": null}'] * len(xs)) if args.stub else _model_predict(args.model_uri)
    )
    exit_with_parent()
    uvicorn.run(build_app(predict), host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
