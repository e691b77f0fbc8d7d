{#-
    Spec §10, issue 14 (roles and personal data), PostgreSQL only (DuckDB is a file: no roles).
    Two group roles (NOLOGIN; a DBA grants them to people and tools), named by vars (--vars):
    - `bi_role` (default ca_bi) reads every relation of `marts` (facts, dimensions, aggregates)
      except the columns with personal data (message text, email, phone; the fence below): column
      privileges only, so the relation names stay the same for BI tools, and `select *` on a
      relation with personal data is refused (select its other columns);
    - `activation_role` (default ca_activation) reads every relation of `segments`, contact
      columns included (a dbt `grants` table privilege, dbt_project.yml).
    Neither reads staging, intermediate, audit or raw (no grant, not even schema usage).
    Schema usage and the BI role's column privileges are granted here. Created by the build when missing (the dbt user needs CREATEROLE for that, else
    a DBA creates them first).
-#}

{#- on-run-start: the two roles, created when missing. -#}
{% macro create_access_roles() -%}
    {{- return(adapter.dispatch('create_access_roles', 'customer_agent_warehouse')()) -}}
{%- endmacro %}

{% macro default__create_access_roles() -%}
{%- endmacro %}

{% macro postgres__create_access_roles() -%}
    {%- for role in [access_role('bi_role'), access_role('activation_role')] %}
    do $$
    begin
        if not exists (select from pg_catalog.pg_roles where rolname = '{{ role }}') then
            create role "{{ role }}" nologin;
        end if;
    end
    $$;
    {%- endfor %}
{%- endmacro %}


{#- A role var (default ca_bi / ca_activation, as in dbt_project.yml), validated: a lower-case SQL identifier. -#}
{% macro access_role(var_name) -%}
    {%- set defaults = {'bi_role': 'ca_bi', 'activation_role': 'ca_activation'} -%}
    {%- set role = var(var_name, defaults[var_name]) | string | trim -%}
    {%- if not modules.re.fullmatch('[a-z_][a-z0-9_]{0,62}', role) -%}
        {{ exceptions.raise_compiler_error(
            "var " ~ var_name ~ " must be a role name of lower-case letters, digits and _ (e.g. 'ca_bi'); got '"
            ~ role ~ "'. Fix it in dbt_project.yml or --vars.") }}
    {%- endif -%}
    {{- return(role) -}}
{%- endmacro %}


{#- on-run-end: usage of the schemas the roles read (marts for BI, segments for activation). -#}
{% macro grant_schema_usage() -%}
    {{- return(adapter.dispatch('grant_schema_usage', 'customer_agent_warehouse')()) -}}
{%- endmacro %}

{% macro default__grant_schema_usage() -%}
{%- endmacro %}

{% macro postgres__grant_schema_usage() -%}
    {%- set readers = [] -%}
    {%- for schema in bi_readable_schemas() -%}
        {%- do readers.append((schema, 'bi_role')) -%}
    {%- endfor -%}
    {%- do readers.append(('segments', 'activation_role')) -%}
    {%- for schema, var_name in readers %}
    do $$
    begin
        if exists (select from pg_catalog.pg_namespace where nspname = '{{ schema }}') then
            grant usage on schema "{{ schema }}" to "{{ access_role(var_name) }}";
        end if;
    end
    $$;
    {%- endfor %}
{%- endmacro %}


{#-
    The fence (issue 28): every relation the BI role reads gives it column privileges on the columns without
    personal data, never a table privilege. A column holds personal data when its YAML says
    `meta: {personal_data: true}`, or when it is a text column (not a number, boolean or time) whose name ends
    like contact data or free text (personal_data_column_pattern below: email, phone_number, message, text,
    url, raw_line, ...) and its YAML does not say `personal_data: false`: a new mart that forgets the flag
    stays fenced. Applied twice: as the post-hook of every model of marts (dbt_project.yml; in the model's
    transaction, so BI reads a rebuilt mart at once and never its personal columns), and at the end of the
    run over every relation of the BI-readable schemas the role holds a privilege on (relations built by
    an older version of the project, by hand, or not selected in this run).
-#}

{#- The schemas the BI role reads: usage granted at the end of the run, every relation fenced. -#}
{% macro bi_readable_schemas() -%}
    {{- return(['marts']) -}}
{%- endmacro %}


{#- The last word of a column name that holds contact data or free text (email_consent, message_count do not). -#}
{% macro personal_data_column_pattern() -%}
    {{- return('(^|_)(e_?mails?|phones?|phone_numbers?|mobiles?|msisdn|messages?|texts?|body|raw_lines?|urls?|address(es)?)$') -}}
{%- endmacro %}


{#- Whether a column holds personal data: its YAML meta (flag true or false) first, else its name and type. -#}
{% macro is_personal_data(column_name, data_type, meta) -%}
    {%- if meta is mapping and 'personal_data' in meta -%}
        {{- return(meta['personal_data'] in [true, 'true', 'True']) -}}
    {%- endif -%}
    {%- set not_text = '(smallint|integer|bigint|numeric|decimal|real|double precision|float|boolean|date|time|interval)' -%}
    {%- if modules.re.match(not_text, data_type | lower) -%}
        {{- return(false) -}}
    {%- endif -%}
    {{- return(modules.re.search(personal_data_column_pattern(), column_name | lower) is not none) -}}
{%- endmacro %}


{#- Post-hook of every model of marts (dbt_project.yml): the fence on the relation just built. -#}
{% macro grant_select_without_personal_data(var_name) -%}
    {{- return(adapter.dispatch('grant_select_without_personal_data', 'customer_agent_warehouse')(var_name)) -}}
{%- endmacro %}

{% macro default__grant_select_without_personal_data(var_name) -%}
{%- endmacro %}

{% macro postgres__grant_select_without_personal_data(var_name) -%}
    {%- if execute -%}
        {%- set metas = {} -%}
        {%- for column in model.columns.values() -%}
            {%- do metas.update({column.name | lower: column.meta}) -%}
        {%- endfor -%}
        {%- set columns = run_query(relation_columns_sql("n.nspname = '" ~ this.schema ~ "' and c.relname = '"
                                                         ~ this.identifier ~ "'")) -%}
        {{- fence_statements(this.schema, this.identifier, columns.rows, metas, access_role(var_name)) -}}
    {%- endif -%}
{%- endmacro %}


{#- on-run-end: the fence again on every relation of the BI-readable schemas the BI role holds a privilege on. -#}
{% macro fence_personal_data() -%}
    {{- return(adapter.dispatch('fence_personal_data', 'customer_agent_warehouse')()) -}}
{%- endmacro %}

{% macro default__fence_personal_data() -%}
{%- endmacro %}

{% macro postgres__fence_personal_data() -%}
    {%- if execute -%}
        {%- set role = access_role('bi_role') -%}
        {%- set metas = {} -%}
        {%- for node in graph.nodes.values() if node.resource_type == 'model' -%}
            {%- set columns = {} -%}
            {%- for column in node.columns.values() -%}
                {%- do columns.update({column.name | lower: column.meta}) -%}
            {%- endfor -%}
            {%- do metas.update({node.schema ~ '.' ~ (node.alias or node.name): columns}) -%}
        {%- endfor -%}
        {%- set schemas = "'" ~ bi_readable_schemas() | join("', '") ~ "'" -%}
        {%- set rows = run_query(relation_columns_sql("n.nspname in (" ~ schemas ~ ") and "
                                                      ~ "has_any_column_privilege('" ~ role ~ "', c.oid, 'SELECT')")).rows -%}
        {%- for relation, columns in rows | groupby('relation') -%}
            {{- fence_statements(columns[0]['schema_name'], columns[0]['relation_name'], columns,
                                 metas.get(relation, {}), role) -}};
        {% endfor -%}
    {%- endif -%}
{%- endmacro %}


{#- The columns of relations (tables, views, materialized views) matching a condition on pg_namespace n and pg_class c. -#}
{% macro relation_columns_sql(condition) -%}
    select
        n.nspname as schema_name,
        c.relname as relation_name,
        n.nspname || '.' || c.relname as relation,
        a.attname as column_name,
        pg_catalog.format_type(a.atttypid, a.atttypmod) as data_type
    from pg_catalog.pg_class as c
    inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
    inner join pg_catalog.pg_attribute as a on c.oid = a.attrelid and a.attnum > 0 and not a.attisdropped
    where c.relkind in ('r', 'v', 'm', 'p', 'f') and {{ condition }}
    order by n.nspname, c.relname, a.attnum
{%- endmacro %}


{#- Revoke everything the role holds on the relation, then grant it select on the columns without personal data. -#}
{% macro fence_statements(schema_name, relation_name, columns, metas, role) -%}
    {%- set relation = adapter.quote(schema_name) ~ '.' ~ adapter.quote(relation_name) -%}
    {%- set readable = [] -%}
    {%- for column in columns
        if not is_personal_data(column['column_name'], column['data_type'], metas.get(column['column_name'] | lower)) -%}
        {%- do readable.append(adapter.quote(column['column_name'])) -%}
    {%- endfor -%}
    revoke all on {{ relation }} from "{{ role }}"
    {%- if readable %};
    grant select ({{ readable | join(', ') }}) on {{ relation }} to "{{ role }}"
    {%- endif -%}
{%- endmacro %}
