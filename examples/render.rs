//! Render: the YAML that the quickstart tenant's deployments would apply to a
//! cluster, as one multi-document stream on standard output. Nothing is
//! sent anywhere; pipe it to `kubectl apply --dry-run=server -f -` to check
//! it against a real API server.
//!
//! The tenant: project `acme` (domain `acme.example`) with an `odoo` group
//! (scopes prod, stage and dev; one deployment each) and a `pgo` group with
//! one PostgreSQL cluster. See `eyrie_kube::demo`.

fn main() -> Result<(), eyrie_core::Error> {
    print!("{}", eyrie_kube::demo::quickstart_yaml()?);
    Ok(())
}
