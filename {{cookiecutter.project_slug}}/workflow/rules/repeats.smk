# The example analysis: keep one repeat family from each BED file, then sort it
# by chromosome and start. Header lines (track, browser, #) stay on top.

# By absolute path: the command runs from the project directory, on any node.
BED_TOOL = os.path.join(workflow.basedir, "scripts", "bed_family.py")


rule select_family:
    input:
        lambda wildcards: config["samples"][wildcards.name],
    output:
        temp("results/intermediate/{name}.selected.bed"),
    log:
        "logs/rules/select_family/{name}.log",
    conda:
        "../envs/python.yaml"
{%- if cookiecutter.use_apptainer == "yes" %}
    container:
        {{ cookiecutter.apptainer_image | yaml_quote }}
{%- endif %}
    params:
        family_pattern=config["family_pattern"],
        tool=BED_TOOL,
    shell:
        "python3 {params.tool:q} select --name-pattern={params.family_pattern:q}"
        " {input:q} > {output:q} 2> {log:q}"


rule sort_bed:
    input:
        "results/intermediate/{name}.selected.bed",
    output:
        "results/{name}.sorted.bed",
    log:
        "logs/rules/sort_bed/{name}.log",
    conda:
        "../envs/python.yaml"
{%- if cookiecutter.use_apptainer == "yes" %}
    container:
        {{ cookiecutter.apptainer_image | yaml_quote }}
{%- endif %}
    params:
        tool=BED_TOOL,
    shell:
        "python3 {params.tool:q} sort {input:q} > {output:q} 2> {log:q}"
