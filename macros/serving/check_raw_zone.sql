{#-
    on-run-start (dbt_project.yml): a missing, empty or non-folder raw zone
    stops `dbt build` / `dbt run` before any model runs, with one line that
    names the path and the fix, instead of building (or, with --full-refresh,
    replacing a populated warehouse with) empty marts. The var
    `allow_empty_raw_zone: true` builds an empty warehouse on purpose.
    Invocations whose selected models read no raw file (unit tests only,
    segments or marts only) are not checked. The rule itself lives in
    customer_agent_warehouse/raw_zone_check.py (also used by the CLI).
-#}
{% macro check_raw_zone() -%}
    {%- if execute and flags.WHICH in ('build', 'run') and not var('allow_empty_raw_zone', false)
        and raw_zone_readers() | length > 0 -%}
        {{- adapter.dispatch('check_raw_zone', 'customer_agent_warehouse')() -}}
    {%- endif -%}
{%- endmacro %}


{#- The selected models that read the raw zone: those with a dbt source. -#}
{% macro raw_zone_readers() -%}
    {%- set readers = [] -%}
    {%- for unique_id in selected_resources if unique_id.startswith('model.') and unique_id in graph.nodes -%}
        {%- if graph.nodes[unique_id].sources -%}
            {%- do readers.append(unique_id) -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(readers) -}}
{%- endmacro %}


{#- Other engines read the raw zone through a loader, which checks it. -#}
{% macro default__check_raw_zone() -%}
{%- endmacro %}


{#-
    On DuckDB the dbt-duckdb plugin build_guard registers the function
    ca_raw_zone_problem(path): the one-line error, or null when the raw zone
    (CA_RAW_PATH, relative to the project directory) has raw files.
-#}
{% macro duckdb__check_raw_zone() -%}
    {%- set root = env_var('CA_RAW_PATH', 'data/raw') | trim -%}
    {%- set problem = run_query(
        "select ca_raw_zone_problem('" ~ (root | replace("'", "''")) ~ "')").rows[0][0] -%}
    {%- if problem -%}
        {{- exceptions.raise_compiler_error(problem) -}}
    {%- endif -%}
{%- endmacro %}
