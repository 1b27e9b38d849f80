//! The authorization table: every row of `data/authorize.table` is one call
//! to `explain`/`authorize`, checked for its verdict and for the grant or
//! rule that decided.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use eyrie_core::{
    Action, DeploymentId, ErrorKind, Grants, GroupId, Principal, ProjectFacts, ProjectId, Resource, Role, UserId,
    authorize, explain,
};

const TABLE: &str = include_str!("data/authorize.table");
const OWNER: UserId = UserId(1);

fn role(text: &str) -> Option<Role> {
    match text {
        "-" => None,
        other => Some(Role::ALL.into_iter().find(|r| r.as_str() == other).unwrap_or_else(|| panic!("role {other}"))),
    }
}

struct Row<'a> {
    line: usize,
    text: &'a str,
    actor: Principal,
    action: Action,
    resource: Resource,
    allowed: bool,
    rule: &'a str,
}

fn parse(line: usize, text: &str) -> Row<'_> {
    let cols: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(cols.len(), 10, "line {line}: expected 10 columns: {text}");
    let actor = match cols[0] {
        "owner" => Principal::user(OWNER),
        "member" => Principal::user(UserId(2)),
        "stranger" => Principal::user(UserId(3)),
        "padmin" => Principal::User { id: UserId(4), platform_admin: true },
        "system" => Principal::System,
        other => panic!("line {line}: unknown actor {other}"),
    };
    let grants = Grants { project: role(cols[1]), group: role(cols[2]), deployment: role(cols[3]) };
    let project = ProjectFacts { id: ProjectId(1), owner: OWNER, portal_blocked: cols[6] == "blocked" };
    let resource = match cols[4] {
        "global" => Resource::Global,
        "project" => Resource::Project { project, grants },
        "group" => Resource::Group { project, group: GroupId(1), grants },
        "deployment" => Resource::Deployment {
            project,
            group: GroupId(1),
            deployment: DeploymentId(1),
            role_to_admin: role(cols[5]).unwrap_or_else(|| panic!("line {line}: deployment rows need a role_to_admin")),
            grants,
        },
        other => panic!("line {line}: unknown resource {other}"),
    };
    let action = Action::from_name(cols[7]).unwrap_or_else(|| panic!("line {line}: unknown action {}", cols[7]));
    let allowed = match cols[8] {
        "allow" => true,
        "deny" => false,
        other => panic!("line {line}: result must be allow or deny, not {other}"),
    };
    Row { line, text, actor, action, resource, allowed, rule: cols[9] }
}

fn rows() -> Vec<Row<'static>> {
    TABLE
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(i, l)| parse(i + 1, l))
        .collect()
}

#[test]
fn table_has_enough_rows_and_covers_every_rule() {
    let rows = rows();
    assert!(rows.len() >= 150, "only {} rows", rows.len());
    for rule in [
        "system",
        "any_user",
        "platform_admin",
        "not_platform_admin",
        "owner",
        "owner_only",
        "portal_blocked",
        "no_membership",
        "grant:project:",
        "grant:group:",
        "grant:deployment:",
    ] {
        assert!(rows.iter().any(|r| r.rule.starts_with(rule)), "no row decided by {rule}");
    }
    assert!(rows.iter().any(|r| r.allowed) && rows.iter().any(|r| !r.allowed));
}

#[test]
fn every_row_decides_as_written_and_names_the_deciding_grant() {
    let mut failures = Vec::new();
    for row in rows() {
        let decision = explain(row.actor, row.action, &row.resource);
        if decision.allowed != row.allowed || decision.rule.code() != row.rule {
            failures.push(format!(
                "line {}: {}\n   got {} by {}",
                row.line,
                row.text,
                if decision.allowed { "allow" } else { "deny" },
                decision.rule.code()
            ));
        }
        match authorize(row.actor, row.action, &row.resource) {
            Ok(d) => assert!(row.allowed, "line {}: authorize allowed, explain says {d}", row.line),
            Err(e) => {
                assert!(!row.allowed, "line {}: authorize refused: {e}", row.line);
                assert_eq!(e.kind(), ErrorKind::PermissionDenied);
                assert!(e.to_string().contains(&decision.to_string()), "line {}: {e}", row.line);
            }
        }
    }
    assert!(failures.is_empty(), "{} rows disagree:\n{}", failures.len(), failures.join("\n"));
}
