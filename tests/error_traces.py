# ruff: noqa: E501 - error output is quoted as tools print it, long lines included
"""Error output as agents paste it: each group holds variants of ONE error, written as they
differ between machines (paths, line numbers, addresses, ids, timestamps, hosts, ports,
versions, pod names). Groups are different errors, some deliberately close to each other
(the same exception type with another key, the same tool with another failure)."""

from __future__ import annotations

GROUPS: dict[str, list[str]] = {
    # --- Python -----------------------------------------------------------------------------
    "py-keyerror-user-id": [
        """Traceback (most recent call last):
  File "/home/ana/proj/app/main.py", line 42, in <module>
    handle(payload)
  File "/home/ana/proj/app/handlers.py", line 17, in handle
    uid = payload["user_id"]
KeyError: 'user_id'""",
        """Traceback (most recent call last):
  File "/srv/worker/run.py", line 9, in <module>
    main()
  File "/srv/worker/jobs/sync.py", line 233, in process
    return event["user_id"]
KeyError: 'user_id'""",
        "KeyError: 'user_id'",
    ],
    "py-keyerror-email": [
        "KeyError: 'email'",
        """Traceback (most recent call last):
  File "/tmp/x.py", line 3, in <module>
    print(d["email"])
KeyError: 'email'""",
    ],
    "py-module-numpy": [
        "ModuleNotFoundError: No module named 'numpy'",
        """Traceback (most recent call last):
  File "/Users/bo/code/etl/load.py", line 1, in <module>
    import numpy as np
ModuleNotFoundError: No module named 'numpy'""",
    ],
    "py-module-yaml": [
        """Traceback (most recent call last):
  File "/opt/app/config.py", line 4, in <module>
    import yaml
ModuleNotFoundError: No module named 'yaml'""",
        "  ModuleNotFoundError: No module named 'yaml'",
    ],
    "py-psycopg-connection-refused": [
        """Traceback (most recent call last):
  File "/app/db.py", line 12, in connect
    conn = psycopg.connect(DSN)
  File "/usr/local/lib/python3.11/site-packages/psycopg/connection.py", line 119, in connect
    raise last_ex.with_traceback(None)
psycopg.OperationalError: connection failed: connection to server at "10.0.3.7", port 5432 failed: Connection refused
	Is the server running on that host and accepting TCP/IP connections?""",
        """Traceback (most recent call last):
  File "/home/ci/work/svc/storage.py", line 88, in open_pool
    c = psycopg.connect(url)
  File "/home/ci/.venv/lib/python3.12/site-packages/psycopg/connection.py", line 131, in connect
    raise last_ex.with_traceback(None)
psycopg.OperationalError: connection failed: connection to server at "172.17.0.2", port 5433 failed: Connection refused
	Is the server running on that host and accepting TCP/IP connections?""",
    ],
    "py-sqlalchemy-unique": [
        """sqlalchemy.exc.IntegrityError: (psycopg.errors.UniqueViolation) duplicate key value violates unique constraint "users_email_key"
DETAIL:  Key (email)=(ana@example.com) already exists.""",
        """sqlalchemy.exc.IntegrityError: (psycopg.errors.UniqueViolation) duplicate key value violates unique constraint "users_email_key"
DETAIL:  Key (email)=(bob@corp.example) already exists.""",
    ],
    "py-recursion": [
        """  File "/srv/app/tree.py", line 14, in walk
    return walk(node.parent)
  [Previous line repeated 996 more times]
RecursionError: maximum recursion depth exceeded""",
        "RecursionError: maximum recursion depth exceeded",
    ],
    "py-asyncio-no-loop": [
        "RuntimeError: This event loop is already running",
        """Traceback (most recent call last):
  File "/home/u/nb/run.py", line 8, in <module>
    asyncio.run(main())
  File "/usr/lib/python3.11/asyncio/runners.py", line 186, in run
    raise RuntimeError(
RuntimeError: This event loop is already running""",
    ],
    "py-asyncio-closed": [
        """Traceback (most recent call last):
  File "/usr/lib/python3.12/asyncio/base_events.py", line 519, in _check_closed
    raise RuntimeError('Event loop is closed')
RuntimeError: Event loop is closed""",
        """Traceback (most recent call last):
  File "/usr/lib/python3.11/asyncio/base_events.py", line 511, in _check_closed
    raise RuntimeError('Event loop is closed')
RuntimeError: Event loop is closed""",
    ],
    # --- Node -------------------------------------------------------------------------------
    "node-undefined-map": [
        """TypeError: Cannot read properties of undefined (reading 'map')
    at ProductList (/home/ana/shop/src/ProductList.jsx:14:22)
    at renderWithHooks (/home/ana/shop/node_modules/react-dom/cjs/react-dom.development.js:16305:18)
    at mountIndeterminateComponent (/home/ana/shop/node_modules/react-dom/cjs/react-dom.development.js:20074:13)""",
        """TypeError: Cannot read properties of undefined (reading 'map')
    at ProductList (webpack-internal:///./src/ProductList.jsx:31:9)
    at renderWithHooks (/work/web/node_modules/react-dom/cjs/react-dom.development.js:16317:18)
    at mountIndeterminateComponent (/work/web/node_modules/react-dom/cjs/react-dom.development.js:20103:13)""",
    ],
    "node-undefined-length": [
        """TypeError: Cannot read properties of undefined (reading 'length')
    at parse (/srv/api/lib/parse.js:8:15)""",
        "Uncaught TypeError: Cannot read properties of undefined (reading 'length')",
    ],
    "node-module-not-found": [
        """node:internal/modules/esm/resolve:854
  throw new ERR_MODULE_NOT_FOUND(packageName, fileURLToPath(base), null);
        ^

Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'express' imported from /home/ana/api/server.js
    at packageResolve (node:internal/modules/esm/resolve:854:9)
    at moduleResolve (node:internal/modules/esm/resolve:927:18)""",
        """Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'express' imported from /app/src/index.js
    at packageResolve (node:internal/modules/esm/resolve:841:9)
    at moduleResolve (node:internal/modules/esm/resolve:910:20)""",
    ],
    "node-econnrefused": [
        """Error: connect ECONNREFUSED 127.0.0.1:6379
    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1595:16)""",
        """Error: connect ECONNREFUSED 10.1.4.22:6380
    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1607:16)""",
    ],
    "node-eaddrinuse": [
        """Error: listen EADDRINUSE: address already in use :::3000
    at Server.setupListenHandle [as _listen2] (node:net:1872:16)""",
        """Error: listen EADDRINUSE: address already in use 0.0.0.0:8080
    at Server.setupListenHandle [as _listen2] (node:net:1904:16)""",
    ],
    "npm-eresolve": [
        """npm ERR! code ERESOLVE
npm ERR! ERESOLVE unable to resolve dependency tree
npm ERR!
npm ERR! While resolving: web@0.1.0
npm ERR! Found: react@18.2.0""",
        """npm error code ERESOLVE
npm error ERESOLVE unable to resolve dependency tree
npm error
npm error While resolving: dashboard@2.3.1
npm error Found: react@18.3.1""",
    ],
    # --- Go ---------------------------------------------------------------------------------
    "go-nil-pointer": [
        """panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x4a2b3c]

goroutine 1 [running]:
main.(*Server).handle(0x0, {0x7ffd1c2a, 0x3})
	/home/dev/svc/server.go:41 +0x1c
main.main()
	/home/dev/svc/main.go:12 +0x85""",
        """panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x52f1d0]

goroutine 7 [running]:
main.(*Server).handle(0xc000128000, {0xc0001a4000, 0x11})
	/build/server.go:57 +0x2f
main.main()
	/build/main.go:19 +0x91""",
    ],
    "go-index-out-of-range": [
        """panic: runtime error: index out of range [5] with length 5

goroutine 1 [running]:
main.parse(...)
	/src/parse.go:22""",
        """panic: runtime error: index out of range [3] with length 3

goroutine 12 [running]:
main.parse(...)
	/home/x/tool/parse.go:30""",
    ],
    "go-undefined": [
        """# example.com/svc
./handler.go:27:9: undefined: NewRouter""",
        """# github.com/acme/api
internal/http/handler.go:103:14: undefined: NewRouter""",
    ],
    "go-missing-go-sum": [
        "go: github.com/lib/pq@v1.10.9: missing go.sum entry for go.mod file; to add it:",
        "go: github.com/lib/pq@v1.10.7: missing go.sum entry for go.mod file; to add it:",
    ],
    # --- Rust -------------------------------------------------------------------------------
    "rust-borrow-moved": [
        """error[E0382]: borrow of moved value: `config`
  --> src/main.rs:14:20
   |
12 |     let worker = Worker::new(config);""",
        """error[E0382]: borrow of moved value: `config`
  --> crates/cli/src/main.rs:88:5""",
    ],
    "rust-mismatched-types": [
        """error[E0308]: mismatched types
 --> src/lib.rs:7:5""",
        """error[E0308]: mismatched types
   --> services/ingest/src/parse.rs:212:17""",
    ],
    "rust-unwrap-none": [
        """thread 'main' panicked at src/main.rs:5:37:
called `Option::unwrap()` on a `None` value
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace""",
        """thread 'main' panicked at src/bin/load.rs:118:22:
called `Option::unwrap()` on a `None` value""",
    ],
    # --- Java -------------------------------------------------------------------------------
    "java-npe-string-length": [
        """Exception in thread "main" java.lang.NullPointerException: Cannot invoke "String.length()" because "<local1>" is null
	at com.acme.Parser.parse(Parser.java:42)
	at com.acme.Main.main(Main.java:10)""",
        """Exception in thread "worker-3" java.lang.NullPointerException: Cannot invoke "String.length()" because "<local1>" is null
	at com.acme.Parser.parse(Parser.java:57)
	at com.acme.Main.main(Main.java:12)""",
    ],
    "java-oom-heap": [
        """Exception in thread "main" java.lang.OutOfMemoryError: Java heap space
	at java.base/java.util.Arrays.copyOf(Arrays.java:3512)
	at java.base/java.util.ArrayList.grow(ArrayList.java:237)""",
        """java.lang.OutOfMemoryError: Java heap space
	at java.base/java.util.Arrays.copyOf(Arrays.java:3537)
	at java.base/java.util.ArrayList.grow(ArrayList.java:240)""",
    ],
    "java-pg-connection": [
        """org.postgresql.util.PSQLException: Connection to db-1.internal.example.com:5432 refused. Check that the hostname and port are correct and that the postmaster is accepting TCP/IP connections.""",
        """Caused by: org.postgresql.util.PSQLException: Connection to pg-replica.prod.internal:6432 refused. Check that the hostname and port are correct and that the postmaster is accepting TCP/IP connections.""",
    ],
    # --- PostgreSQL -------------------------------------------------------------------------
    "pg-unique-orders": [
        """ERROR:  duplicate key value violates unique constraint "orders_pkey"
DETAIL:  Key (id)=(48213) already exists.""",
        """2026-11-30 10:22:01.123 UTC [4412] ERROR:  duplicate key value violates unique constraint "orders_pkey"
2026-11-30 10:22:01.123 UTC [4412] DETAIL:  Key (id)=(77) already exists.""",
    ],
    "pg-unique-users-email": [
        """ERROR:  duplicate key value violates unique constraint "users_email_key"
DETAIL:  Key (email)=(x@y.dev) already exists.""",
        """psql:/tmp/seed.sql:12: ERROR:  duplicate key value violates unique constraint "users_email_key"
DETAIL:  Key (email)=(admin@acme.io) already exists.""",
    ],
    "pg-password-auth": [
        'psql: error: connection to server at "db.internal.example.com" (10.2.0.4), port 5432 failed: FATAL:  password authentication failed for user "app"',
        'FATAL:  password authentication failed for user "app"',
    ],
    "pg-too-many-clients": [
        "FATAL:  sorry, too many clients already",
        "2026-12-01 03:14:07.001 UTC [91] FATAL:  sorry, too many clients already",
    ],
    "pg-lock-timeout": [
        "ERROR:  canceling statement due to lock timeout",
        "2026-10-02 14:00:00 UTC [1201] ERROR:  canceling statement due to lock timeout",
    ],
    # --- Kubernetes -------------------------------------------------------------------------
    "k8s-crashloop": [
        "api-7d9f8b6c5d-x2kqz   0/1     CrashLoopBackOff   6 (2m ago)   11m",
        "worker-5c8d7f9b47-plm3n   0/1   CrashLoopBackOff   14 (33s ago)   52m",
    ],
    "k8s-imagepull": [
        "web-6b7c9d8f5-q7wzd   0/1     ImagePullBackOff   0          3m",
        "  Warning  Failed     12s   kubelet  Error: ImagePullBackOff",
    ],
    "k8s-forbidden-list-pods": [
        'Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:ci:deployer" cannot list resource "pods" in API group "" in the namespace "prod"',
        'Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:ci:deployer" cannot list resource "pods" in API group "" in the namespace "prod"\n',
    ],
    "k8s-forbidden-get-secrets": [
        'Error from server (Forbidden): secrets "db-creds" is forbidden: User "system:serviceaccount:ci:deployer" cannot get resource "secrets" in API group "" in the namespace "prod"',
        'Error from server (Forbidden): secrets "db-creds" is forbidden: User "system:serviceaccount:ci:deployer" cannot get resource "secrets" in API group "" in the namespace "prod"',
    ],
    "k8s-insufficient-memory": [
        "Warning  FailedScheduling  default-scheduler  0/3 nodes are available: 3 Insufficient memory.",
        "0/12 nodes are available: 12 Insufficient memory.",
    ],
    # --- shell and tools --------------------------------------------------------------------
    "sh-jq-not-found": [
        "bash: jq: command not found",
        "/home/runner/work/_temp/4f1c9a.sh: line 3: jq: command not found",
    ],
    "sh-yq-not-found": [
        "bash: yq: command not found",
        "zsh: command not found: yq",
    ],
    "sh-no-space": [
        "cp: error writing '/var/lib/docker/tmp/layer.tar': No space left on device",
        "tar: error writing '/mnt/data/backup-2026-11-30.tar': No space left on device",
    ],
    "sh-permission-denied-script": [
        "bash: ./deploy.sh: Permission denied",
        "bash: ./scripts/deploy.sh: Permission denied",
    ],
    "git-not-a-repo": [
        "fatal: not a git repository (or any of the parent directories): .git",
        "fatal: not a git repository (or any of the parent directories): .git\n",
    ],
    "docker-daemon": [
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
        "docker: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?.",
    ],
}
