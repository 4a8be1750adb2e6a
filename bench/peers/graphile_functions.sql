-- Created in the benchmark database only (never in a real ledger database), before
-- PostGraphile starts: exposes "epics in a stream" (via the epic_streams index) as
-- Query.epicsInStream(stream, first, after), a Relay connection of Epic.
CREATE OR REPLACE FUNCTION public.epics_in_stream(stream text)
RETURNS SETOF public.epics
LANGUAGE sql STABLE AS $$
  SELECT e.* FROM public.epic_streams s JOIN public.epics e ON e.pk = s.epic_pk
  WHERE s.stream = epics_in_stream.stream AND e.archived_at IS NULL
  ORDER BY s.epic_pk
$$;
