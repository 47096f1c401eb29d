"""R1's denominator: a bare Flask hello-world, served by bench/run.py under the same gunicorn
settings as the app (`gunicorn --config gunicorn.conf.py bench.hello:app`, EMBEDDED_WORKER=0)."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, World!"
