"""GraphQL for BI tools and portals (`POST /graphql`): see docs/graphql.md."""
