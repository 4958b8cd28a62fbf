//! Database outages for tests: the database taken away the way each backend loses
//! it, and a TCP proxy in front of PostgreSQL that can be cut per hub process.

use super::{admin_conn, Backend, TestDb};
use diesel::connection::SimpleConnection;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Take the database away in the way each backend loses it, and return how to bring
/// it back. SQLite: the file disappears (volume unmounted, file moved). PostgreSQL:
/// the server refuses connections to the database and drops the open ones.
pub fn make_database_unreachable(db: &TestDb) -> Box<dyn FnOnce()> {
    match db.backend {
        Backend::Sqlite => {
            let file = db.sqlite_file();
            let aside = file.with_extension("moved");
            std::fs::rename(&file, &aside).unwrap();
            Box::new(move || std::fs::rename(&aside, &file).unwrap())
        }
        Backend::Postgres => {
            let name = db.pg_name().to_owned();
            let mut admin = admin_conn();
            admin
                .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
                .unwrap();
            // A connection that was being opened as the door closed may still get
            // in (the hub's sync workers open connections all the time): terminate
            // until none is left.
            for _ in 0..50 {
                admin
                    .batch_execute(&format!(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
                    ))
                    .unwrap();
                std::thread::sleep(std::time::Duration::from_millis(50));
                #[derive(diesel::QueryableByName)]
                struct N {
                    #[diesel(sql_type = diesel::sql_types::BigInt)]
                    n: i64,
                }
                let left: N = diesel::RunQueryDsl::get_result(
                    diesel::sql_query(format!(
                        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = '{name}'"
                    )),
                    &mut admin,
                )
                .unwrap();
                if left.n == 0 {
                    break;
                }
            }
            Box::new(move || {
                admin
                    .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
                    .unwrap()
            })
        }
    }
}

/// A TCP proxy to 127.0.0.1:5432 that can be cut (open connections closed, new ones
/// refused) and restored.
pub struct PgProxy {
    pub port: u16,
    cut: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl PgProxy {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (c, o) = (cut.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if c.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect("127.0.0.1:5432") else {
                    continue;
                };
                {
                    let mut o = o.lock().unwrap();
                    o.push(client.try_clone().unwrap());
                    o.push(server.try_clone().unwrap());
                }
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        Self { port, cut, open }
    }

    /// The test database's URL through this proxy.
    pub fn url(&self, db: &TestDb) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{}",
            self.port,
            db.pg_name()
        )
    }

    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    pub fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}
