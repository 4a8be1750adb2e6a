"""The embeddable board scorecard (`GET /embed/scorecard`) and its signed links."""
