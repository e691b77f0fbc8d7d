{#-
    on-run-end (first hook, dbt_project.yml): when a model or test failed because the disk is full,
    print one line saying which folder is full (the warehouse's, or the spill folder
    `<warehouse>.tmp/`) and that the next build after freeing space is exact. The same line as the
    CLI's (customer_agent_warehouse/disk_full.py, which also reads the final checkpoint's failure).
    It runs no SQL: a database that failed to write may refuse every statement.
-#}
{% macro report_disk_full(results) -%}
    {%- if execute and target.type == 'duckdb' -%}
        {%- set messages = [] -%}
        {%- for result in results if result.status in ('error', 'fail') and 'No space left on device' in (result.message or '') -%}
            {%- do messages.append(result.message) -%}
        {%- endfor -%}
        {%- if messages -%}
            {%- set match = modules.re.search('Could not write file "([^"]+)": No space left on device', messages[0]) -%}
            {%- set written = match.group(1) if match else target.path -%}
            {%- set folder = written.rsplit('/', 1)[0] if '/' in written else '.' -%}
            {%- set spill = folder.rsplit('/', 1)[-1] == target.path.rsplit('/', 1)[-1] ~ '.tmp' -%}
            {%- set where = 'the spill folder ' ~ folder ~ '/' if spill else "the warehouse's folder " ~ folder -%}
            {{- log('disk full: no space left in ' ~ where ~ ' (DuckDB could not write ' ~ written.rsplit('/', 1)[-1]
                ~ '); free space there or point CA_DUCKDB_PATH at a bigger folder, then build again: the next build'
                ~ ' is exact (nothing of a failed model was committed)', info=True) -}}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
