{#-
    Spec §4: a deterministic event id, unique across the four facts: a hash of
    the metric key and the natural key of the event (the conversation for a
    start, the log record for the others). Same raw data, same id, on every
    build, full or incremental.
-#}
{% macro metric_event_id(metric_key, natural_key) -%}
    {{ dbt.hash(dbt.concat([dbt.string_literal(metric_key ~ '|'), natural_key])) }}
{%- endmacro %}
