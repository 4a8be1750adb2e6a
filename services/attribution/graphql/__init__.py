"""GraphQL for BI tools (`POST /graphql`): see docs/graphql.md."""
