/**
 * The editor's side of the kit, run in the browser (bundled into the package's resources/ with the rules of core):
 * every field and list cell of our dialogs is checked by the rules a deploy applies, a wrong one turns red with the
 * reason as its tooltip, and the list editors (register map, simulator channels, alarm rules) are built one way:
 * labelled cells, the rarely used ones folded under "details".
 */
import { check, PlacedProblem, RULES } from '../core/editor/editor-rules';
import { problemText } from '../core/shared/fields';

/* eslint-disable @typescript-eslint/no-explicit-any -- jQuery and Node-RED's editor are untyped globals here */
declare const $: any;
declare const RED: any;

type EditorNode = Record<string, any> & { _(key: string, vars?: Record<string, unknown>): string; type: string; _def: any };
type Validate = (this: EditorNode, value: unknown, opt?: unknown) => boolean | string;

export interface Column {
  /** the row's property, and `label.<name>` in the node's messages unless `label` is given */
  name: string;
  label?: string;
  width: string;
  /** text by default; numbers are written back as numbers when they read as one */
  kind?: 'text' | 'number' | 'select' | 'checkbox';
  options?: readonly string[];
  /** folded under the row's "details" */
  detail?: boolean;
  /** the value of a new row */
  initial?: unknown;
  /** suggestions shown under a text cell (a datalist's id) */
  suggest?: string;
}

export interface ListOptions {
  field: string;
  columns: Column[];
  addLabel: string;
  height: number;
  /** a new row's values (the columns' initial values otherwise) */
  newRow?: () => Record<string, unknown>;
}

interface ListHandle {
  list: any;
  rows(): Array<Record<string, unknown>>;
}

interface OpenDialog {
  node: EditorNode;
  lists: Map<string, ListHandle>;
}

/**
 * The dialogs open now, newest last (a config node's opens over the node's): the rules judge what a dialog shows,
 * not what was saved.
 */
const dialogs: OpenDialog[] = [];
const dialogOf = (node: EditorNode) => dialogs.find((d) => d.node === node);

function say(node: EditorNode, p: PlacedProblem): string {
  return problemText((key, vars) => node._(`${node.type}.${key}`, vars), p);
}

function inputOf(node: EditorNode, field: string): any {
  const prefix = node._def?.category === 'config' ? 'node-config-input-' : 'node-input-';
  return $(`#${prefix}${field}`);
}

/** The settings as the rules see them: the node's, what its open dialog shows instead, and the value being judged. */
function definitionOf(node: EditorNode, field?: string, value?: unknown): Record<string, unknown> {
  const def: Record<string, unknown> = {};
  for (const key of Object.keys(node._def?.defaults ?? {})) def[key] = node[key];
  const open = dialogOf(node);
  if (open) {
    for (const key of Object.keys(node._def.defaults)) {
      const input = inputOf(node, key);
      if (input.length) def[key] = input.attr('type') === 'checkbox' ? input.prop('checked') : input.val();
    }
    for (const [key, handle] of open.lists) def[key] = handle.rows();
  }
  if (field !== undefined) def[field] = value;
  return def;
}

/**
 * A property's validate: the rules' problems placed on this field, in words (Node-RED shows them as the tooltip).
 * It takes two parameters, as Node-RED requires of a validate whose text is a reason (with one, a text is "valid").
 */
export function validator(type: string, field: string): Validate {
  return function validate(this: EditorNode, value: unknown, _opt?: unknown): boolean | string {
    const mine = check(type, definitionOf(this, field, value)).filter((p) => p.field === field);
    return mine.length ? mine.map((p) => say(this, p)).join('; ') : true;
  };
}

function close(node: EditorNode): void {
  const at = dialogs.findIndex((d) => d.node === node);
  if (at >= 0) dialogs.splice(at, 1);
}

function both(own: Validate | undefined, rule: Validate): Validate {
  if (!own) return rule;
  return function validate(this: EditorNode, value: unknown, opt?: unknown) {
    const first = own.call(this, value, opt);
    return first === true ? rule.call(this, value, opt) : first;
  };
}

/** Red cells with the reason as their tooltip, for every list of the newest dialog; what belongs to no cell goes under the list. */
function markLists(): void {
  const open = dialogs[dialogs.length - 1];
  if (!open) return;
  const { node, lists } = open;
  const problems = check(node.type, definitionOf(node));
  for (const [field, handle] of lists) {
    const items = handle.list.editableList('items');
    items.find('.edge-cell').removeClass('input-error').removeAttr('title');
    const general: string[] = [];
    for (const p of problems.filter((x) => x.field === field)) {
      const cell = p.row !== undefined && p.cell ? $(items[p.row]).find(`.edge-cell-${p.cell}`) : undefined;
      if (cell?.length) {
        cell.addClass('input-error').attr('title', say(node, p));
        if (cell.closest('.edge-row-details').length) cell.closest('.edge-row-details').show();
      } else {
        general.push(say(node, p));
      }
    }
    handle.list.closest('.red-ui-editableList').nextAll('.edge-list-problems').first().text(general.join('; '));
  }
}

function cellOf(column: Column, value: unknown): any {
  let el: any;
  if (column.kind === 'select') {
    el = $('<select/>');
    for (const o of column.options ?? []) $('<option/>').val(o).text(o).appendTo(el);
    el.val(value === undefined || value === '' ? column.initial ?? column.options?.[0] : value).css({ paddingLeft: '4px', paddingRight: '2px' });
  } else if (column.kind === 'checkbox') {
    el = $('<input type="checkbox"/>').prop('checked', value === true || value === 'true').css({ width: 'auto', margin: '6px 0 0 0' });
  } else {
    el = $('<input type="text"/>').val(value === undefined || value === null ? '' : String(value));
    if (column.suggest) el.attr('list', column.suggest);
  }
  return el.addClass(`edge-cell edge-cell-${column.name}`).css(column.kind === 'checkbox' ? {} : { width: '100%' });
}

function readCell(column: Column, el: any): unknown {
  if (column.kind === 'checkbox') return el.prop('checked');
  const v = el.val();
  if (column.kind !== 'number') return v;
  const text = String(v ?? '').trim();
  // a number stays a number, so Done without an edit changes nothing; anything else is kept for the rules to name
  return text !== '' && Number.isFinite(Number(text)) ? Number(text) : text;
}

/** A labelled cell: the label above the input, so no header can drift out of line. */
function labelled(node: EditorNode, column: Column, value: unknown): any {
  // text cells give way when the dialog is narrow; a select keeps its width, so its choice is never cut
  const fixed = column.kind === 'select' || column.kind === 'checkbox';
  const box = $('<label/>').addClass('edge-cell-box')
    .css({ flex: fixed ? `0 0 ${column.width}` : `1 1 ${column.width}`, width: column.width, minWidth: fixed ? column.width : '36px', margin: 0, fontSize: '0.85em' });
  $('<span/>').css({ display: 'block', color: 'var(--red-ui-secondary-text-color, #888)', whiteSpace: 'nowrap', overflow: 'hidden', textOverflow: 'ellipsis' })
    .text(node._(`${node.type}.label.${column.label ?? column.name}`)).appendTo(box);
  return box.append(cellOf(column, value));
}

/** A list editor of rows with labelled cells; its rows are read back into the node on Done. */
export function list(node: EditorNode, container: string, options: ListOptions, rows: Array<Record<string, unknown>> | undefined): ListHandle {
  const main = options.columns.filter((c) => !c.detail);
  const details = options.columns.filter((c) => c.detail);
  function addItem(item: any, _index: number, data: Record<string, unknown>): void {
    const fresh = !data || Object.keys(data).length === 0;
    const values = fresh ? options.newRow?.() ?? Object.fromEntries(options.columns.map((c) => [c.name, c.initial ?? ''])) : data;
    const row = $('<div/>').addClass('edge-row').css({ display: 'flex', flexWrap: 'nowrap', gap: '6px', alignItems: 'flex-end' }).appendTo(item);
    for (const c of main) row.append(labelled(node, c, values[c.name]));
    if (details.length) {
      const more = $('<div/>').addClass('edge-row-details').css({ display: 'none', flexWrap: 'wrap', gap: '6px', marginTop: '4px' }).appendTo(item);
      for (const c of details) more.append(labelled(node, c, values[c.name]));
      $('<a href="#" class="red-ui-button red-ui-button-small edge-row-more"><i class="fa fa-ellipsis-h"></i></a>')
        .attr('title', node._(`${node.type}.label.details`)).css({ flex: '0 0 auto' })
        .on('click', (e: Event) => { e.preventDefault(); more.css('display', more.css('display') === 'none' ? 'flex' : 'none'); })
        .appendTo(row);
    }
    item.on('change input', '.edge-cell', markLists);
    if (fresh) markLists();
  }
  const el = $(container).editableList({
    addItem, removable: true, sortable: true, addButton: options.addLabel, height: options.height,
    removeItem: markLists,
  });
  el.closest('.red-ui-editableList').after($('<div class="edge-list-problems"/>').css({ color: 'var(--red-ui-text-color-error, #d6615f)', fontSize: '0.85em' }));
  for (const r of rows ?? []) el.editableList('addItem', r);
  // open at the first row, whatever adding them scrolled to
  el.closest('.red-ui-editableList-container').scrollTop(0);
  const handle: ListHandle = {
    list: el,
    rows() {
      const out: Array<Record<string, unknown>> = [];
      el.editableList('items').each(function each(this: unknown) {
        const item = $(this);
        const row: Record<string, unknown> = {};
        for (const c of options.columns) {
          const v = readCell(c, item.find(`.edge-cell-${c.name}`));
          if (v !== '' && v !== undefined) row[c.name] = v;
        }
        out.push(row);
      });
      return out;
    },
  };
  dialogOf(node)?.lists.set(options.field, handle);
  return handle;
}

/**
 * Gives a registered node type the rules of its type: every property validated by them, the dialog's lists read back
 * on Done, and the open dialog known to the rules while it is open. Called right after `RED.nodes.registerType`,
 * whose definition stays a literal (the Flow Library reads it) and is the object Node-RED keeps, changed in place.
 */
export function define(type: string): void {
  const definition = RED.nodes.getType(type) as Record<string, any> | undefined;
  if (!definition) return;
  for (const [field, spec] of Object.entries(definition.defaults ?? {}) as Array<[string, Record<string, any>]>) {
    if (RULES[type]) spec.validate = both(spec.validate, validator(type, field));
  }
  const prepare = definition.oneditprepare;
  const save = definition.oneditsave;
  const cancel = definition.oneditcancel;
  definition.oneditprepare = function oneditprepare(this: EditorNode) {
    dialogs.push({ node: this, lists: new Map() });
    prepare?.call(this);
    markLists();
  };
  definition.oneditsave = function oneditsave(this: EditorNode) {
    for (const [field, handle] of dialogOf(this)?.lists ?? []) this[field] = handle.rows();
    const result = save?.call(this);
    close(this);
    return result;
  };
  definition.oneditcancel = function oneditcancel(this: EditorNode) {
    cancel?.call(this);
    close(this);
  };
}
