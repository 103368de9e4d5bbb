"""The fine-tuning pipeline: data snapshots, resumable training runs, the evaluation gate,
promotion and rollback (issue 9)."""
