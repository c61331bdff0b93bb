//! The approver for runs where nobody can answer a prompt.

use cuervo_domain::{Approval, ApprovalRequest, Approver, BoxFuture};

/// Refuses every request, telling the model why and the user how to allow it next time.
/// Used by `cuervo -p`: a headless run must never block on a prompt nobody sees.
#[derive(Debug, Default, Clone, Copy)]
pub struct HeadlessApprover;

impl Approver for HeadlessApprover {
    fn approve(&self, request: ApprovalRequest) -> BoxFuture<'_, Approval> {
        let feedback = format!(
            "`{}` needs approval ({}), and this run is non-interactive, so it was not run. \
             The user can allow it with --permission-mode (auto-edit or full-auto) or \
             --allow-tools '{}'. Continue without it if you can.",
            request.action.summary,
            request.reason,
            suggested_rule(&request),
        );
        Box::pin(async move { Approval::DenyWithFeedback { feedback } })
    }
}

/// The narrowest rule that would have allowed this call: the command's first word for
/// bash, the path for file tools.
pub fn suggested_rule(request: &ApprovalRequest) -> String {
    match (&request.action.target, request.tool.as_str()) {
        (Some(cmd), "bash") => {
            let first = cmd.split_whitespace().next().unwrap_or("");
            format!("bash({first}:*)")
        }
        (Some(path), tool) => format!("{tool}({path})"),
        (None, tool) => tool.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cuervo_domain::ToolAction;

    fn request(tool: &str, target: &str) -> ApprovalRequest {
        ApprovalRequest {
            call_id: "c".into(),
            tool: tool.into(),
            action: ToolAction {
                target: Some(target.into()),
                summary: format!("{tool} {target}"),
                ..ToolAction::default()
            },
            reason: "shell tools need approval in ask mode".into(),
        }
    }

    #[test]
    fn suggests_narrow_rules() {
        assert_eq!(
            suggested_rule(&request("bash", "cargo test --all")),
            "bash(cargo:*)"
        );
        assert_eq!(
            suggested_rule(&request("edit", "src/lib.rs")),
            "edit(src/lib.rs)"
        );
    }

    #[tokio::test]
    async fn headless_denies_with_instructions() {
        let answer = HeadlessApprover
            .approve(request("bash", "rm -rf target"))
            .await;
        match answer {
            Approval::DenyWithFeedback { feedback } => {
                assert!(
                    feedback.contains("--allow-tools 'bash(rm:*)'"),
                    "{feedback}"
                );
                assert!(feedback.contains("--permission-mode"), "{feedback}");
            }
            other => panic!("expected a denial, got {other:?}"),
        }
    }
}
