//! The stacks under `tests/e2e/stacks/`, the profiles each runs with, and what their running
//! containers must show once hardened. The Compose files say what runs; this file says how
//! to check it.

/// A client that must authenticate with the credential `.env` now holds.
pub struct Client {
    /// The client service.
    pub service: &'static str,
    /// Shell command run in it (`sh -c`); succeeds when it authenticated.
    pub check: &'static str,
}

/// A server that must refuse the literal the original file held, once it is hardened.
pub struct Refusal {
    /// The server service.
    pub server: &'static str,
    /// Shell command run in a probe container on the stack's network, using the old literal.
    pub probe: &'static str,
    /// Output that shows the server refused it.
    pub refused: &'static str,
    /// Output that shows the server accepted it.
    pub accepted: &'static str,
}

/// An init-only credential: changing `.env` does not change what the server stored on first
/// start, so it is changed on the running server first, as the operator checklist's runbook
/// says (and changed back before the rollback).
pub struct Rotation {
    /// The server service.
    pub service: &'static str,
    /// The environment key the server reads it from.
    pub key: &'static str,
    /// The value the original file holds.
    pub literal: &'static str,
    /// `exec -u` user (`None`: the container's).
    pub user: Option<&'static str>,
    /// Command run in the server; reads the statement from stdin.
    pub command: &'static [&'static str],
    /// What to feed it; `{}` is the value.
    pub stdin: &'static str,
}

/// One stack and its expectations.
pub struct Stack {
    /// Directory under `tests/e2e/stacks/`; also the Compose project (`e2e-NAME`).
    pub name: &'static str,
    /// Profiles it is hardened with, in order.
    pub profiles: &'static [&'static str],
    /// Services whose main process must run as this user once the entrypoint switched.
    pub users: &'static [(&'static str, &'static str)],
    /// Published ports a profile keeps public: (profile, service, published port).
    pub public: &'static [(&'static str, &'static str, &'static str)],
    /// Clients of the stack's credentials.
    pub clients: &'static [Client],
    /// Servers that must refuse the old literal.
    pub refusals: &'static [Refusal],
    /// Init-only credentials to rotate on the running server.
    pub rotations: &'static [Rotation],
    /// HTTP checks from the host: (published port, text the page holds).
    pub http: &'static [(u16, &'static str)],
}

const PG_LITERAL: &str = "Pg-Secret-2024";

const PG_ROTATION: Rotation = Rotation {
    service: "db",
    key: "POSTGRES_PASSWORD",
    literal: PG_LITERAL,
    user: None,
    command: &[
        "psql",
        "-U",
        "app",
        "-d",
        "app",
        "-v",
        "ON_ERROR_STOP=1",
        "-q",
    ],
    stdin: "ALTER USER app PASSWORD '{}';\n",
};

const PG_REFUSAL: Refusal = Refusal {
    server: "db",
    probe: "psql 'postgresql://app:Pg-Secret-2024@db:5432/app' -tAc \"select 'accepted'\"",
    refused: "password authentication failed",
    accepted: "accepted",
};

/// Every stack.
pub static STACKS: &[Stack] = &[
    Stack {
        name: "database",
        profiles: &["baseline", "strict"],
        users: &[("db", "postgres")],
        public: &[],
        clients: &[
            Client {
                service: "url-client",
                check: "psql \"$DATABASE_URL\" -tAc 'select 1'",
            },
            Client {
                service: "pg-client",
                check: "psql -tAc 'select 1'",
            },
        ],
        refusals: &[PG_REFUSAL],
        rotations: &[PG_ROTATION],
        http: &[],
    },
    Stack {
        name: "cache",
        profiles: &["baseline", "strict"],
        users: &[("cache", "redis")],
        public: &[],
        clients: &[Client {
            service: "app",
            check: "redis-cli --no-auth-warning -u \"$REDIS_URL\" ping | grep -qx PONG",
        }],
        refusals: &[Refusal {
            server: "cache",
            probe: "redis-cli --no-auth-warning -h cache -a Redis-Secret-2024 ping",
            refused: "WRONGPASS",
            accepted: "PONG",
        }],
        rotations: &[],
        http: &[],
    },
    Stack {
        name: "web",
        profiles: &["baseline", "strict"],
        users: &[("web", "root")],
        public: &[],
        clients: &[],
        refusals: &[],
        rotations: &[],
        http: &[(18080, "static front served by the hardened stack")],
    },
    Stack {
        name: "consumer",
        profiles: &["baseline"],
        users: &[("db", "postgres")],
        public: &[],
        clients: &[Client {
            service: "consumer",
            check: "PGPASSFILE=/tmp/pgpass psql -h db -U app -d app -tAc 'select 1'",
        }],
        refusals: &[PG_REFUSAL],
        rotations: &[PG_ROTATION],
        http: &[],
    },
    Stack {
        name: "collector",
        profiles: &["baseline", "openbmp"],
        users: &[
            ("collector", "collector"),
            ("influxdb", "influxdb"),
            ("telegraf", "telegraf"),
        ],
        public: &[("openbmp", "collector", "5000")],
        clients: &[Client {
            service: "telegraf",
            check: "s=$(cat /tmp/telegraf.status); [ \"$s\" = 204 ] || { echo \"last write answered: $s\"; exit 1; }",
        }],
        refusals: &[Refusal {
            server: "influxdb",
            probe: "exec 3<>/dev/tcp/influxdb/8086 && printf 'POST /api/v2/write HTTP/1.1\\r\\nHost: influxdb\\r\\nAuthorization: Token Telemetry-Token-2024\\r\\nContent-Length: 0\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -n1 <&3",
            refused: "401",
            accepted: "204",
        }],
        rotations: &[Rotation {
            service: "influxdb",
            key: "DOCKER_INFLUXDB_INIT_ADMIN_TOKEN",
            literal: "Telemetry-Token-2024",
            user: Some("influxdb"),
            command: &["sh", "-c", "cat > /var/lib/influxdb2/influxd.bolt"],
            stdin: "{}\n",
        }],
        http: &[],
    },
];

/// Every (stack, profile) case, interleaved so that the profiles of one stack (which share a
/// project and its ports, and so run one after another) are far apart in the queue.
pub fn cases() -> Vec<(&'static Stack, &'static str)> {
    let rounds = STACKS.iter().map(|s| s.profiles.len()).max().unwrap_or(0);
    let mut v = Vec::new();
    for round in 0..rounds {
        for s in STACKS {
            if let Some(p) = s.profiles.get(round) {
                v.push((s, *p));
            }
        }
    }
    v
}
