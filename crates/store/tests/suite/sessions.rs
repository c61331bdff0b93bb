//! Sessions under concurrency: two connections (as two processes) appending at once lose
//! nothing and never surface a lock error.

use std::sync::Arc;

use cuervo_domain::{Message, MessageRecord, SessionId};
use cuervo_store::Db;

#[test]
fn two_writers_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cuervo.db");
    let per_writer = 300;
    std::thread::scope(|scope| {
        for w in 0..2 {
            let path = path.clone();
            scope.spawn(move || {
                // Each writer opens its own connection, racing on creation and migration.
                let db = Arc::new(Db::open(&path).unwrap());
                for i in 0..per_writer {
                    let id = SessionId(format!("w{w}-{}", i / 10));
                    let record = MessageRecord {
                        message: Message::user(format!("message {i}")),
                        model: None,
                        usage: None,
                        cost: None,
                    };
                    db.append_message(&id, "/p", &record).unwrap();
                }
            });
        }
    });
    let db = Db::open(&path).unwrap();
    let total: i64 = db
        .read(|c| Ok(c.query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(total, 2 * per_writer);
    assert_eq!(db.sessions(Some("/p"), 1000).unwrap().len(), 60);
    assert_eq!(db.integrity_check().unwrap(), "ok");
}
