//! The audit log end to end: a run's model calls, permission decisions, tool runs, file
//! changes and shell commands are chained; `cuervo audit verify` catches tampering and
//! names the entry.

use cuervo_testkit::{Script, Turn};
use serde_json::{Value, json};

use super::common::{Sandbox, Wire, mock};
use super::sessions::open_db;

async fn audited_run(sandbox: &Sandbox) -> Vec<(String, String)> {
    sandbox.write("a.txt", "old\n");
    let server = mock(Script::new(vec![
        Turn::tool_call(
            "edit",
            json!({"path": "a.txt", "old_string": "old", "new_string": "new"}),
        ),
        Turn::tool_call("bash", json!({"command": "cat a.txt"})),
        Turn::text("Edited and checked."),
    ]))
    .await;
    let env = Wire::Anthropic.env(&server);
    let out = sandbox
        .cuervo(&env, &["-p", "edit it", "--permission-mode", "full-auto"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_is_audited_and_verifies() {
    let sandbox = Sandbox::new();
    let env = audited_run(&sandbox).await;
    let tail = sandbox
        .cuervo(&env, &["audit", "tail", "-n", "100", "--json"])
        .await;
    assert_eq!(tail.code, 0, "{}", tail.stderr);
    let entries = tail.json_lines();
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or(""))
        .collect();
    for kind in [
        "model_invoked",
        "permission_decided",
        "tool_executed",
        "file_modified",
        "bash_executed",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    assert_eq!(kinds.iter().filter(|k| **k == "model_invoked").count(), 3);
    let bash = entries
        .iter()
        .find(|e| e["kind"] == "bash_executed")
        .expect("bash entry");
    assert_eq!(bash["payload"]["command"], "cat a.txt");
    assert_eq!(bash["payload"]["exit_code"], 0);
    let file = entries
        .iter()
        .find(|e| e["kind"] == "file_modified")
        .expect("file entry");
    assert!(
        file["payload"]["diff"]
            .as_str()
            .is_some_and(|d| d.contains("+new"))
    );
    // Each entry links to the one before.
    for pair in entries.windows(2) {
        assert_eq!(pair[1]["prev_hash"], pair[0]["hash"]);
    }
    let text = sandbox.cuervo(&env, &["audit", "tail", "-n", "2"]).await;
    assert_eq!(text.stdout.lines().count(), 2, "{}", text.stdout);

    let verify = sandbox.cuervo(&env, &["audit", "verify"]).await;
    assert_eq!(verify.code, 0, "{}", verify.stderr);
    assert!(
        verify
            .stdout
            .starts_with(&format!("audit log intact: {} entries", entries.len())),
        "{}",
        verify.stdout
    );
    assert!(
        verify.stdout.contains("matches its checkpoint"),
        "{}",
        verify.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_names_the_edited_or_truncated_entry() {
    let sandbox = Sandbox::new();
    let env = audited_run(&sandbox).await;
    let db = open_db(&sandbox);
    // Hide the shell command that ran.
    db.write(|tx| {
        tx.execute(
            "UPDATE audit_log SET payload = json_set(payload, '$.command', 'true') WHERE kind = 'bash_executed'",
            [],
        )?;
        Ok(())
    })
    .expect("tamper");
    let id: i64 = db
        .read(|c| {
            Ok(c.query_row(
                "SELECT id FROM audit_log WHERE kind = 'bash_executed'",
                [],
                |r| r.get(0),
            )?)
        })
        .expect("id");
    let verify = sandbox.cuervo(&env, &["audit", "verify"]).await;
    assert_eq!(verify.code, 1, "{}", verify.stdout);
    assert!(
        verify
            .stderr
            .contains(&format!("BROKEN at entry {id}: was edited")),
        "{}",
        verify.stderr
    );
    let json = sandbox.cuervo(&env, &["audit", "verify", "--json"]).await;
    let v: Value = serde_json::from_str(json.stdout.trim()).expect("json");
    assert_eq!(v["breach"]["entry"], id);
    assert_eq!(v["breach"]["kind"], "edited");

    // Put it back and cut the tail off instead.
    db.write(|tx| {
        tx.execute(
            "UPDATE audit_log SET payload = json_set(payload, '$.command', 'cat a.txt') WHERE id = ?1",
            [id],
        )?;
        Ok(())
    })
    .expect("restore");
    assert_eq!(sandbox.cuervo(&env, &["audit", "verify"]).await.code, 0);
    db.write(|tx| {
        tx.execute("DELETE FROM audit_log WHERE id >= ?1", [id])?;
        Ok(())
    })
    .expect("truncate");
    let verify = sandbox.cuervo(&env, &["audit", "verify"]).await;
    assert_eq!(verify.code, 1);
    assert!(
        verify
            .stderr
            .contains(&format!("BROKEN at entry {id}: missing")),
        "{}",
        verify.stderr
    );
}
