/** @gatehouse/invoicing: the invoicing consumer and its read API. */
export { applyInvoicing, buildInvoicingService, INVOICES_SCOPE, type InvoicingService } from './app.ts';
export { type InvoicingConfig, loadInvoicingConfig } from './config.ts';
export { startInvoicingService } from './main.ts';
export { INVOICING_MIGRATIONS } from './migrations.ts';
export { invoiceNumber } from './numbering.ts';
export { findInvoice, type Invoice, insertInvoice, listInvoices, type NewInvoice } from './repository.ts';
