-- Which node ran a result, for which region, and the slot it was scheduled for (its intended start), so a
-- result means the same on SQLite as on a PostgreSQL shared by several nodes.
ALTER TABLE results ADD COLUMN region TEXT NOT NULL DEFAULT '';
ALTER TABLE results ADD COLUMN node TEXT NOT NULL DEFAULT '';
ALTER TABLE results ADD COLUMN due_ms INTEGER;
