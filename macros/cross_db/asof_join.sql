{#-
    "The latest right row at or before each left row" (skill active at a status change, last touch
    before an order), as a whole select: every column of `left` plus `right_columns` (a dict of output
    name -> column of `right`) from the latest row of `right` with the same `by` columns and
    `right.right_time <= left.left_time`. `join_type` 'left' keeps left rows without one (NULL columns),
    'inner' drops them. `left_key` lists the columns that identify a left row. Among right rows at the
    same latest instant any one is taken (callers make instants unique or break ties afterwards).
    DuckDB: an ASOF join. PostgreSQL: an equality join on `by` filtered by time, the latest per left
    row (`by` is selective: a conversation, a profile).
-#}
{% macro asof_join(left, right, by, left_time, right_time, right_columns, left_key, join_type='inner') -%}
    {{- return(adapter.dispatch('asof_join', 'customer_agent_warehouse')(
        left, right, by, left_time, right_time, right_columns, left_key, join_type)) -}}
{%- endmacro %}

{% macro default__asof_join(left, right, by, left_time, right_time, right_columns, left_key, join_type='inner') -%}
    select
        {{ left }}.*,
        {%- for name, column in right_columns.items() %}
        {{ right }}.{{ column }} as {{ name }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ left }}
    {{ 'left' if join_type == 'left' else 'cross' }} join lateral (
        select *
        from {{ right }} as asof_candidates
        where
            {%- for column in by %}
            asof_candidates.{{ column }} = {{ left }}.{{ column }} and
            {%- endfor %}
            asof_candidates.{{ right_time }} <= {{ left }}.{{ left_time }}
        order by asof_candidates.{{ right_time }} desc
        limit 1
    ) as {{ right }}{% if join_type == 'left' %} on true{% endif %}
{%- endmacro %}

{% macro postgres__asof_join(left, right, by, left_time, right_time, right_columns, left_key, join_type='inner') -%}
    select distinct on ({% for column in left_key %}{{ left }}.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %})
        {{ left }}.*,
        {%- for name, column in right_columns.items() %}
        {{ right }}.{{ column }} as {{ name }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ left }}
    {{ join_type }} join {{ right }}
        on
        {%- for column in by %}
            {{ left }}.{{ column }} = {{ right }}.{{ column }} and
        {%- endfor %}
            {{ left }}.{{ left_time }} >= {{ right }}.{{ right_time }}
    order by
        {% for column in left_key %}{{ left }}.{{ column }}, {% endfor %}{{ right }}.{{ right_time }} desc nulls last
{%- endmacro %}

{% macro duckdb__asof_join(left, right, by, left_time, right_time, right_columns, left_key, join_type='inner') -%}
    select
        {{ left }}.*,
        {%- for name, column in right_columns.items() %}
        {{ right }}.{{ column }} as {{ name }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ left }}
    asof {{ join_type }} join {{ right }}
        on
        {%- for column in by %}
            {{ left }}.{{ column }} = {{ right }}.{{ column }} and
        {%- endfor %}
            {{ left }}.{{ left_time }} >= {{ right }}.{{ right_time }}
{%- endmacro %}

{#- Spark: a range join on `by`, the latest right row per left row by a window (QUALIFY). -#}
{% macro spark__asof_join(left, right, by, left_time, right_time, right_columns, left_key, join_type='inner') -%}
    select
        {{ left }}.*,
        {%- for name, column in right_columns.items() %}
        {{ right }}.{{ column }} as {{ name }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ left }}
    {{ join_type }} join {{ right }}
        on
        {%- for column in by %}
            {{ left }}.{{ column }} = {{ right }}.{{ column }} and
        {%- endfor %}
            {{ left }}.{{ left_time }} >= {{ right }}.{{ right_time }}
    qualify row_number() over (
        partition by {% for column in left_key %}{{ left }}.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %}
        order by {{ right }}.{{ right_time }} desc nulls last
    ) = 1
{%- endmacro %}
