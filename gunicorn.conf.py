"""gunicorn settings for production; `gunicorn wsgi:app` reads this file from the top level.

Threaded workers keep a long streamed export from being killed by the worker timeout, and
SO_REUSEPORT lets the kernel spread connections evenly over the workers (without it, phones
on kept-alive connections can pile onto one worker while the others idle).
"""

import multiprocessing
import os

# Loopback: nginx (deploy/nginx-sipas.conf) faces the network and buffers slow clients.
bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WORKERS", multiprocessing.cpu_count() + 1))
worker_class = "gthread"
threads = int(os.environ.get("THREADS", 2))
reuse_port = True
timeout = 120
keepalive = 5
accesslog = os.environ.get("ACCESS_LOG")  # e.g. "-" for stdout; off by default
