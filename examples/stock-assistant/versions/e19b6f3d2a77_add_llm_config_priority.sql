-- migsync:revision e19b6f3d2a77
-- migsync:down_revision c52d9e07a4f8
-- migsync:message add priority to llm configs and an index on active ones

-- migsync:up
ALTER TABLE llm_configs ADD COLUMN priority integer NOT NULL DEFAULT 100;
CREATE INDEX ix_llm_configs_active_priority ON llm_configs (priority) WHERE is_active;

-- The updated_at trigger uses dollar quoting; statements are split with it in mind.
CREATE FUNCTION llm_configs_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();  -- keep updated_at honest; a ';' here is not a statement end
    RETURN NEW;
END;
$$;
CREATE TRIGGER llm_configs_touch BEFORE UPDATE ON llm_configs
    FOR EACH ROW EXECUTE FUNCTION llm_configs_touch();

-- migsync:down
DROP TRIGGER llm_configs_touch ON llm_configs;
DROP FUNCTION llm_configs_touch();
DROP INDEX ix_llm_configs_active_priority;
ALTER TABLE llm_configs DROP COLUMN priority;
