-- Latency accounting (issue 17, point 6): what a job spent held in the worker before its batch
-- started, and its batch's whole device time (docs/job-protocol.md, "Timings"). Results from
-- before this migration read 0.
alter table job_results add column held_ms double precision not null default 0;
alter table job_results add column batch_ms double precision not null default 0;
