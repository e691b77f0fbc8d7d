{#-
    Which rows the data tests over large incremental tables check (issue 13): on an incremental
    build, the rows written since the last build whose data tests all passed; every row on
    --full-refresh, with var data_tests_scope = 'all', on an engine without the watermark
    manifest (Spark), and when no build has passed yet. A build that fails a test or is killed
    records no marker, so the next build checks its rows again.

    The marker is a row of audit.incremental_watermarks (model_name 'data_tests', watermark =
    the start of the build), written at the end of a build in which every data test of the
    project ran and passed (record_tested_build, on-run-end).
-#}

{% macro tested_build_marker() -%}
    {{- return('data_tests') -}}
{%- endmacro %}


{#- True when the data tests of this invocation check every row. -#}
{% macro data_tests_check_every_row() -%}
    {{- return(adapter.dispatch('data_tests_check_every_row', 'customer_agent_warehouse')()) -}}
{%- endmacro %}

{% macro default__data_tests_check_every_row() -%}
    {%- set scope = var('data_tests_scope', 'changed') -%}
    {%- if scope not in ['changed', 'all'] -%}
        {{- exceptions.raise_compiler_error(
            "var data_tests_scope is '" ~ scope ~ "': set it to 'changed' (default) or 'all'") -}}
    {%- endif -%}
    {{- return(flags.FULL_REFRESH or scope == 'all') -}}
{%- endmacro %}

{% macro spark__data_tests_check_every_row() -%}
    {{- return(true) -}}
{%- endmacro %}


{#-
    SQL condition: the row (its build timestamp `column`, the start of the build that wrote it)
    is in the scope of this invocation's data tests: written after the last build whose data tests
    all passed (1900-01-01 before any).
-#}
{% macro in_data_tests_scope(column) -%}
    {%- if data_tests_check_every_row() -%}
        true
    {%- else -%}
        {{ column }} > {{ incremental_watermark(tested_build_marker()) }}
    {%- endif -%}
{%- endmacro %}


{#-
    on-run-end: mark this build as tested when every data test of the project ran in it and
    passed (or warned). A partial selection, a failing or skipped test, or a build without
    data tests records nothing.
-#}
{% macro record_tested_build(results) -%}
    {{- return(adapter.dispatch('record_tested_build', 'customer_agent_warehouse')(results)) -}}
{%- endmacro %}

{% macro default__record_tested_build(results) -%}
    {%- set data_tests = [] -%}
    {%- set passed = [] -%}
    {%- if execute -%}
        {%- set data_tests = graph.nodes.values() | selectattr('resource_type', 'equalto', 'test') | list -%}
        {%- for result in results if result.node.resource_type == 'test' and result.status in ['pass', 'warn'] -%}
            {%- do passed.append(result.node.unique_id) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if data_tests | length > 0 and passed | unique | list | length == data_tests | length -%}
        {{ record_watermark(tested_build_marker()) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{% macro spark__record_tested_build(results) -%}
    select 1
{%- endmacro %}
