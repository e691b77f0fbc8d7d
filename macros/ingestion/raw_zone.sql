{#-
    The raw zone (spec §2): a directory, `CA_RAW_PATH` (default `data/raw`,
    relative to the project root), with one sub-folder per source. Every
    `*.jsonl` and `*.jsonl.gz` file in any sub-folder of a source is read.
    File names are stored relative to the raw zone root, so the registry of
    ingested files survives moving the raw zone.
-#}

{% macro raw_zone_path() -%}
    {{- return(env_var('CA_RAW_PATH', 'data/raw').rstrip('/')) -}}
{%- endmacro %}


{% macro list_raw_files(source_folder) -%}
    {#- Every raw file of a source, as paths relative to the raw zone root, sorted. -#}
    {%- if not execute -%}
        {{- return([]) -}}
    {%- endif -%}
    {%- set root = raw_zone_path() -%}
    {%- set pattern = root ~ '/' ~ source_folder ~ '/**/*.jsonl' -%}
    {%- set query -%}
        select file from glob({{ dbt.string_literal(pattern) }})
        union all
        select file from glob({{ dbt.string_literal(pattern ~ '.gz') }})
        order by 1
    {%- endset -%}
    {%- set files = [] -%}
    {%- for row in run_query(query).rows -%}
        {%- do files.append(row[0][root | length + 1:]) -%}
    {%- endfor -%}
    {{- return(files) -}}
{%- endmacro %}


{% macro new_raw_files(source_folder) -%}
    {#-
        Files of a source that this incremental model has not ingested yet.
        Raw files are only ever added (spec §2), so the set of file names
        already in the model is the registry of ingested files.
    -#}
    {%- set all_files = list_raw_files(source_folder) -%}
    {%- if not is_incremental() -%}
        {{- return(all_files) -}}
    {%- endif -%}
    {%- set seen = [] -%}
    {%- for row in run_query('select distinct file_name from ' ~ this).rows -%}
        {%- do seen.append(row[0]) -%}
    {%- endfor -%}
    {{- return(all_files | reject('in', seen) | list) -}}
{%- endmacro %}


{% macro read_raw_lines(files) -%}
    {{- return(adapter.dispatch('read_raw_lines', 'customer_agent_warehouse')(files)) -}}
{%- endmacro %}

{% macro default__read_raw_lines(files) -%}
    {{ exceptions.raise_compiler_error(
        "Reading the raw zone is implemented for DuckDB only (adapter: " ~ adapter.type() ~ "). "
        ~ "Add a `" ~ adapter.type() ~ "__read_raw_lines` macro that returns file_name, line_number, raw_line."
    ) }}
{%- endmacro %}

{% macro duckdb__read_raw_lines(files) -%}
    {#-
        One row per physical line: (file_name, line_number, raw_line), with
        gzip detected from the extension. Each line is read as a single text
        column (a 4-byte delimiter that JSON never contains, no quoting), so a
        malformed line keeps its text instead of turning into a NULL row; an
        empty line is a NULL raw_line. `row_number() over ()` is DuckDB's
        order-preserving streaming window: over a single-file scan it is the
        line number. Files are read one scan each and unioned.
    -#}
    {%- set root = raw_zone_path() -%}
    {%- if files | length == 0 %}
    select
        cast(null as varchar) as file_name,
        cast(null as bigint) as line_number,
        cast(null as varchar) as raw_line
    where false
    {%- endif %}
    {%- for file in files %}
    select
        {{ dbt.string_literal(file) }} as file_name,
        row_number() over () as line_number,
        raw_line
    from read_csv(
        {{ dbt.string_literal(root ~ '/' ~ file) }},
        columns = {'raw_line': 'VARCHAR'},
        delim = chr(31) || chr(30) || chr(29) || chr(28),
        quote = '',
        escape = '',
        header = false,
        auto_detect = false,
        strict_mode = false,
        max_line_size = 16777216
    )
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}
