//! The benchmark workload: a Compose file of `n` services built from a realistic five-service
//! stack (reverse proxy, application, PostgreSQL, Redis, worker) repeated with per-stack names.
//!
//! One generator for every benchmark (`benches/phases.rs` and `scripts/bench.sh` through the
//! `bench-workload` example), so the numbers in docs/performance.md are comparable. The file
//! mixes the layouts real files use: block and flow collections, a `<<: *common` merge, list
//! and map environments, single- and double-quoted scalars, a block scalar, comments, a
//! healthcheck, long-form and short ports. Every stack has its own database password (a
//! credential shared by the database, the application and the worker); every application
//! also carries one literal shared by all stacks (a variable with one user per stack).

use std::fmt::Write as _;

/// Services per stack.
pub const STACK: usize = 5;

/// A Compose file with exactly `n` services.
pub fn generate(n: usize) -> String {
    let mut s = String::with_capacity(n * 330 + 400);
    s.push_str(
        "# Generated benchmark stack: proxy, app, db, cache, worker per tenant.\n\
         x-common: &common\n  restart: unless-stopped\n  logging:\n    driver: json-file\n    options:\n      max-size: \"10m\"\n\n\
         services:\n",
    );
    let mut volumes = String::new();
    for i in 0..n {
        let k = i / STACK;
        let pw = format!("Pg-{k:05}-s3cret");
        match i % STACK {
            0 => {
                let _ = write!(
                    s,
                    "  proxy{k}:\n    image: nginx:1.27-alpine\n    ports:\n      - \"80:80\"\n      - target: 443\n        published: \"{p}\"\n    volumes:\n      - ./proxy/nginx.conf:/etc/nginx/nginx.conf:ro\n    depends_on: [app{k}]\n",
                    p = 20000 + k % 40000
                );
            }
            1 => {
                let _ = write!(
                    s,
                    "  app{k}:\n    <<: *common\n    image: \"registry.example.com/shop/app:{k}.0\"\n    depends_on:\n      - db{k}\n      - cache{k}\n    environment:\n      - DATABASE_URL=postgres://shop:{pw}@db{k}:5432/shop\n      - REDIS_URL=redis://cache{k}:6379/0\n      - SMTP_PASSWORD=changeme-smtp-2024 # shared by every tenant\n      - LOG_LEVEL=info\n    ports:\n      - 8000:8000\n    healthcheck:\n      test: [\"CMD\", \"curl\", \"-f\", \"http://localhost:8000/health\"]\n      interval: 30s\n"
                );
            }
            2 => {
                let _ = write!(
                    s,
                    "  db{k}:\n    image: postgres:16\n    privileged: true\n    environment:\n      POSTGRES_USER: shop\n      POSTGRES_PASSWORD: '{pw}'\n      POSTGRES_DB: shop\n    volumes:\n    - db{k}:/var/lib/postgresql/data\n    ports:\n      - \"5432\"\n"
                );
                let _ = writeln!(volumes, "  db{k}:");
            }
            3 => {
                let _ = writeln!(
                    s,
                    "  cache{k}: {{image: 'redis:7', command: [redis-server, --appendonly, 'yes'], ports: [\"6379:6379\"]}}"
                );
            }
            _ => {
                let _ = write!(
                    s,
                    "  worker{k}:\n    image: registry.example.com/shop/worker:latest\n    command: |\n      celery -A shop worker\n        --concurrency=4\n    environment:\n      BROKER_URL: \"redis://cache{k}:6379/1\"\n      DATABASE_URL: postgres://shop:{pw}@db{k}:5432/shop\n    security_opt:\n      - apparmor:docker-default\n"
                );
            }
        }
    }
    if !volumes.is_empty() {
        s.push_str("\nvolumes:\n");
        s.push_str(&volumes);
    }
    s
}
