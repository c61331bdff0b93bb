//! The approver for runs where nobody can answer a prompt.

use cuervo_domain::{Approval, ApprovalRequest, Approver, BoxFuture};

/// Refuses every request, telling the model why and the user how to allow it next time.
/// Used by `cuervo -p`: a headless run must never block on a prompt nobody sees.
#[derive(Debug, Default, Clone, Copy)]
pub struct HeadlessApprover;

impl Approver for HeadlessApprover {
    fn approve(&self, request: ApprovalRequest) -> BoxFuture<'_, Approval> {
        let how = match (suggested_rule(&request), request.action.protected.is_some()) {
            // No mode opens a protected path: only a rule that names it.
            (Some(rule), true) => format!("only with --allow-tools '{rule}'"),
            (None, true) => "only with an allow rule that names the path".to_owned(),
            (Some(rule), false) => {
                format!("with --permission-mode (auto-edit or full-auto) or --allow-tools '{rule}'")
            }
            // A compound or unanalysable command: no single rule is narrow enough.
            (None, false) => "with --permission-mode (auto-edit or full-auto)".to_owned(),
        };
        let feedback = format!(
            "`{}` needs approval ({}), and this run is non-interactive, so it was not run. \
             The user can allow it {how}. Continue without it if you can.",
            request.action.summary, request.reason,
        );
        Box::pin(async move { Approval::DenyWithFeedback { feedback } })
    }
}

/// The narrowest rule that would have allowed this call (see
/// [`cuervo_domain::suggest_rule`]): `bash(git status:*)`, never `bash(git:*)` or a bare
/// interpreter; `None` for a compound or unanalysable command, for which no rule is
/// offered.
pub fn suggested_rule(request: &ApprovalRequest) -> Option<String> {
    cuervo_domain::suggest_rule(&request.tool, &request.action).map(|r| r.to_string())
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
            agent: None,
        }
    }

    #[test]
    fn suggests_narrow_rules() {
        assert_eq!(
            suggested_rule(&request("edit", "src/lib.rs")).as_deref(),
            Some("edit(src/lib.rs)")
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
