//! Books: the default set shipped for every group type and action, and
//! publishing new versions (refused when a step names an unknown handler).

use super::Engine;
use super::backups::{PARAM_BACKUP, PARAM_PRE_RESTORE, PARAM_SOURCE, STEP_ONLY_WITH};
use super::handler::builtin;
use crate::error::{Error, Result};
use crate::ids::BookId;
use crate::model::{Book, GroupType, JobAction, StepKind, StepSpec};
use crate::permission::{Action, Actor, Resource, authorize};
use crate::storage::{Index, StoreExt, Transaction};
use crate::validate::ValidationError;

/// The steps Eyrie ships for `group_type` and `action`. Handler steps use
/// the built-in handlers ([`builtin`]). Steps with an `only_with`
/// parameter run only in jobs that have that parameter: the safety backup
/// of a restore, and the seed of an initialize in a scope with
/// `restore_from_scope` that found a backup.
pub fn default_steps(group_type: GroupType, action: JobAction) -> Vec<StepSpec> {
    let ready_seconds = match group_type {
        GroupType::Pgo | GroupType::Pxc => 300,
        GroupType::Odoo => 120,
        GroupType::None => 60,
    };
    let step = StepSpec::handler;
    let with = |mut s: StepSpec, parameters: &[(&str, &str)]| {
        s.parameters.extend(parameters.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        s
    };
    match action {
        JobAction::Initialize => vec![
            step("namespace", builtin::ENSURE_NAMESPACE, 10, 5, "Create the project namespace"),
            with(
                step(
                    "seed",
                    builtin::RESTORE,
                    20,
                    900,
                    "Load the newest done backup of the scope named by restore_from_scope",
                ),
                &[(STEP_ONLY_WITH, PARAM_SOURCE)],
            ),
        ],
        JobAction::Deploy => vec![
            step("namespace", builtin::ENSURE_NAMESPACE, 10, 5, "Create the project namespace"),
            step("apply", builtin::APPLY, 20, 10, "Apply the desired objects"),
            step("wait-ready", builtin::WAIT_READY, 30, ready_seconds, "Wait until every replica is ready"),
        ],
        JobAction::Redeploy => vec![
            step("apply", builtin::APPLY, 10, 10, "Apply the desired objects again"),
            step("wait-ready", builtin::WAIT_READY, 20, ready_seconds, "Wait until every replica is ready"),
        ],
        JobAction::Pause => vec![step("pause", builtin::PAUSE, 10, 30, "Scale to zero, keeping the data")],
        JobAction::Drop => vec![step("remove", builtin::REMOVE, 10, 60, "Delete every object of the deployment")],
        JobAction::Backup => vec![with(
            step("backup", builtin::BACKUP, 10, 600, "Take a backup to the scope's backup datasource and verify it"),
            &[("target", PARAM_BACKUP)],
        )],
        JobAction::Restore => vec![
            with(
                step("pre-restore-backup", builtin::BACKUP, 10, 600, "Take a safety backup of the deployment first"),
                &[("target", PARAM_PRE_RESTORE), (STEP_ONLY_WITH, PARAM_PRE_RESTORE)],
            ),
            step("restore", builtin::RESTORE, 20, 900, "Load the chosen backup into the deployment"),
        ],
    }
}

fn check_steps(engine: &Engine, steps: &[StepSpec]) -> Result<()> {
    if steps.is_empty() {
        return Err(ValidationError::field("steps", "[]", "a book needs at least one step").into());
    }
    let mut names = std::collections::BTreeSet::new();
    for s in steps {
        if !names.insert(s.name.as_str()) {
            return Err(ValidationError::field("steps", &s.name, "step names must be unique in a book").into());
        }
        if s.estimated_duration_over_stop == 0 {
            return Err(ValidationError::field("estimated_duration_over_stop", &s.name, "must be at least 1").into());
        }
        if let StepKind::Handler(h) = &s.kind
            && !engine.handlers().contains(h)
        {
            return Err(Error::policy(format!("step {} names the unknown handler {h:?}", s.name)));
        }
    }
    Ok(())
}

impl Engine {
    /// The latest version of the book for `group_type` and `action`, if any is stored.
    #[tracing::instrument(level = "debug", skip_all, fields(action = %action), err(level = "debug", Display))]
    pub async fn latest_book(&self, group_type: GroupType, action: JobAction) -> Result<Option<Book>> {
        let books = self.store().children::<Book>(Index::Books(Index::book_parent(group_type, action))).await?;
        Ok(books.into_iter().map(|v| v.value).max_by_key(|b| b.version))
    }

    /// Every stored version of the book for `group_type` and `action`, oldest first.
    #[tracing::instrument(level = "debug", skip_all, fields(action = %action), err(level = "debug", Display))]
    pub async fn book_versions(&self, group_type: GroupType, action: JobAction) -> Result<Vec<Book>> {
        let mut books: Vec<Book> = self
            .store()
            .children::<Book>(Index::Books(Index::book_parent(group_type, action)))
            .await?
            .into_iter()
            .map(|v| v.value)
            .collect();
        books.sort_by_key(|b| b.version);
        Ok(books)
    }

    /// Publishes a new version of the book for `group_type` and `action`
    /// (platform administrators). Older versions are kept. Refused when a
    /// step names a handler no executor registered.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, action = %action), err(level = "debug", Display))]
    pub async fn publish_book(
        &self,
        actor: Actor,
        group_type: GroupType,
        action: JobAction,
        name: &str,
        mut steps: Vec<StepSpec>,
    ) -> Result<Book> {
        let actor = self.eyrie().identify(actor).await?;
        authorize(actor, Action::ManageGlobalResources, &Resource::Global)?;
        check_steps(self, &steps)?;
        steps.sort_by_key(|s| s.sequence);
        let eyrie = self.eyrie();
        eyrie
            .retrying(|| async {
                let version = self.latest_book(group_type, action).await?.map_or(1, |b| b.version + 1);
                let book = Book {
                    id: BookId(eyrie.next_id()),
                    name: name.to_owned(),
                    group_type,
                    action,
                    version,
                    steps: steps.clone(),
                    created_at: eyrie.now(),
                };
                let event = eyrie.audit(actor, None, "book.publish", book.id);
                eyrie.commit(Transaction::new().create(book.clone()), event).await.map_err(|e| match e {
                    Error::AlreadyExists { .. } => Error::Conflict("another version was published meanwhile".into()),
                    other => other,
                })?;
                Ok(book)
            })
            .await
    }

    /// Publishes the default book for every group type and action that has
    /// none yet. Returns how many were published.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
    pub async fn install_default_books(&self) -> Result<usize> {
        let mut published = 0;
        for group_type in GroupType::ALL {
            for action in JobAction::ALL {
                if self.latest_book(group_type, action).await?.is_none() {
                    let name = format!("{group_type}-{action}");
                    self.publish_book(Actor::System, group_type, action, &name, default_steps(group_type, action))
                        .await?;
                    published += 1;
                }
            }
        }
        Ok(published)
    }
}
