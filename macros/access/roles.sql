{#-
    Spec §10, issue 14 (roles and personal data), PostgreSQL only (DuckDB is a file: no roles).
    Two group roles (NOLOGIN; a DBA grants them to people and tools), named by vars (--vars):
    - `bi_role` (default ca_bi) reads every relation of `marts` (facts, dimensions, aggregates)
      except the columns flagged `meta: {personal_data: true}` in the models' YAML (message text,
      email, phone): column privileges, so the relation names stay the same for BI tools, and
      `select *` on a relation with personal data is refused (select its other columns);
    - `activation_role` (default ca_activation) reads every relation of `segments`, contact
      columns included.
    Neither reads staging, intermediate, audit or raw (no grant, not even schema usage).
    Table privileges are dbt `grants` (dbt_project.yml); schema usage and column privileges are
    granted here. Created by the build when missing (the dbt user needs CREATEROLE for that, else
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
    {%- for schema, var_name in [('marts', 'bi_role'), ('segments', 'activation_role')] %}
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
    Post-hook of a model with personal-data columns (YAML `meta: {personal_data: true}`): the role
    may select every other column. dbt `grants` of such a model give no table privilege
    (`grants: {select: []}`), which would expose every column.
-#}
{% macro grant_select_without_personal_data(var_name) -%}
    {{- return(adapter.dispatch('grant_select_without_personal_data', 'customer_agent_warehouse')(var_name)) -}}
{%- endmacro %}

{% macro default__grant_select_without_personal_data(var_name) -%}
{%- endmacro %}

{% macro postgres__grant_select_without_personal_data(var_name) -%}
    {%- if execute -%}
        {%- set personal = [] -%}
        {%- for column in model.columns.values() if column.meta.get('personal_data') -%}
            {%- do personal.append(column.name | lower) -%}
        {%- endfor -%}
        {%- set readable = [] -%}
        {%- for column in adapter.get_columns_in_relation(this) if column.name | lower not in personal -%}
            {%- do readable.append(adapter.quote(column.name)) -%}
        {%- endfor -%}
        grant select ({{ readable | join(', ') }}) on {{ this }} to "{{ access_role(var_name) }}"
    {%- endif -%}
{%- endmacro %}
