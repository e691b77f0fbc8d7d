{#-
    `union all` of CTEs matched by column name: `relations` is a dict of CTE name -> its columns besides
    `key_columns`; a column a CTE lacks is NULL in its rows, typed `null_type` (default bigint, which
    unites with any number type: counts and sums).
-#}
{% macro union_all_by_name(relations, key_columns, null_type='bigint') -%}
    {{- return(adapter.dispatch('union_all_by_name', 'customer_agent_warehouse')(relations, key_columns, null_type)) -}}
{%- endmacro %}

{% macro default__union_all_by_name(relations, key_columns, null_type='bigint') -%}
    {%- set all_columns = [] -%}
    {%- for columns in relations.values() -%}
        {%- for column in columns if column not in all_columns -%}
            {%- do all_columns.append(column) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- for relation, columns in relations.items() %}
    select
        {{ key_columns | join(', ') }},
        {%- for column in all_columns %}
        {{ column if column in columns else 'cast(null as ' ~ null_type ~ ')' }} as {{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ relation }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}

{% macro duckdb__union_all_by_name(relations, key_columns, null_type='bigint') -%}
    {%- for relation in relations %}
    select * from {{ relation }}
    {%- if not loop.last %}
    union all by name
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
