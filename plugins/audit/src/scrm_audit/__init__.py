"""scrm-audit (合规审计): verifies the hash chains on a schedule and raises an alert when one breaks,
tracks data-subject requests to their due date, applies retention policies (with a dry run that says
exactly what applying does), reviews marketing copy against the workspace word list, and reports
on all of it per workspace and period."""
