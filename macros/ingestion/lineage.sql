{#- The start of this dbt invocation as a UTC timestamp literal: when a line was loaded / a row processed. -#}
{% macro run_started_timestamp() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}


{#-
    Spec §3: duplicate deliveries are one record, the one received first.
    True for the first-received row of each `key`: earliest `received_at`
    (when the source has one; missing last), then the raw file name and line
    number, so the choice never depends on the order of builds.
-#}
{% macro is_first_received(key, received_at=none) -%}
    row_number() over (
        partition by {{ key }}
        order by {% if received_at %}{{ received_at }} asc nulls last, {% endif %}file_name, line_number
    ) = 1
{%- endmacro %}


{#-
    Incremental models reprocess whole conversations. The watermark is the
    latest `processed_at` already in this model; upstream rows newer than it
    belong to conversations that must be rebuilt.
-#}
{% macro processed_watermark() -%}
    (select coalesce(max(processed_at), cast('1900-01-01' as {{ dbt.type_timestamp() }})) from {{ this }})
{%- endmacro %}
